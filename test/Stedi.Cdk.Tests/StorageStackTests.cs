using System.Text.Json;
using Amazon.CDK.Assertions;
using Stedi.Cdk;

namespace Stedi.Cdk.Tests;

[Collection(SynthCollection.Name)]
public sealed class StorageStackTests(SynthFixture synth)
{
    private readonly Template _storage = synth.Strict.Storage;

    [Fact]
    public void Each_landing_prefix_notifies_its_own_source_queue_on_object_created_and_removed()
    {
        var lake = _storage.Resources("AWS::S3::Bucket").Single(b => b.Props.TryGetProperty("NotificationConfiguration", out _));
        var configs = lake.Props.GetProperty("NotificationConfiguration").GetProperty("QueueConfigurations").EnumerateArray().ToList();

        Assert.Equal(2 * StediConfig.Sources.Count, configs.Count);
        foreach (var source in StediConfig.Sources)
        {
            var prefix = $"{source}/landing/";
            var mine = configs.Where(c =>
                c.GetProperty("Filter").GetProperty("S3Key").GetProperty("Rules")[0].GetProperty("Value").GetString() == prefix).ToList();
            Assert.Equal(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], mine.Select(c => c.GetProperty("Event").GetString()).Order());
            foreach (var config in mine)
            {
                Assert.Equal("prefix", config.GetProperty("Filter").GetProperty("S3Key").GetProperty("Rules")[0].GetProperty("Name").GetString());
                var queueId = config.GetProperty("Queue").GetProperty("Fn::GetAtt")[0].GetString()!;
                Assert.StartsWith($"{StorageStack.Pascal(source)}LandingQueue", queueId);
            }
        }
    }

    [Fact]
    public void Landing_queues_accept_s3_events_only_from_the_lake_bucket_of_this_account()
    {
        // Every queue has a policy (SSL-only); the landing queues' ones also allow S3.
        var policies = _storage.Resources("AWS::SQS::QueuePolicy")
            .Where(p => p.Props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().Any(s => s.GetProperty("Effect").GetString() == "Allow"))
            .ToList();
        Assert.Equal(StediConfig.Sources.Count, policies.Count);
        foreach (var (_, props) in policies)
        {
            var allow = props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray()
                .Single(s => s.GetProperty("Effect").GetString() == "Allow");
            Assert.Equal("s3.amazonaws.com", allow.GetProperty("Principal").GetProperty("Service").GetString());
            Assert.Equal("sqs:SendMessage", allow.GetProperty("Action").GetString());
            var source = TemplateJson.Render(allow.GetProperty("Condition").GetProperty("ArnLike").GetProperty("aws:SourceArn"));
            Assert.Matches(@"^arn:\$\{AWS::Partition\}:s3:::stedi-lake-dev-\$\{AWS::AccountId\}-\$\{AWS::Region\}$", source);
            Assert.True(allow.GetProperty("Condition").GetProperty("StringEquals").TryGetProperty("aws:SourceAccount", out _));
        }
    }

    [Fact]
    public void The_lake_bucket_is_created_after_the_queue_policies_S3_validates_against()
    {
        var json = TemplateJson.Parse(_storage).GetProperty("Resources");
        var lake = json.EnumerateObject().Single(r => r.Value.GetProperty("Type").GetString() == "AWS::S3::Bucket"
            && r.Value.GetProperty("Properties").TryGetProperty("NotificationConfiguration", out _));
        var dependsOn = lake.Value.GetProperty("DependsOn").EnumerateArray().Select(d => d.GetString()!).ToList();
        var landingPolicies = _storage.Resources("AWS::SQS::QueuePolicy")
            .Where(p => p.Props.GetProperty("Queues")[0].GetProperty("Ref").GetString()!.Contains("LandingQueue")).ToList();
        Assert.Equal(StediConfig.Sources.Count, landingPolicies.Count);
        foreach (var policy in landingPolicies)
            Assert.Contains(policy.Id, dependsOn);
    }

    [Fact]
    public void Landing_queues_redrive_to_a_DLQ_after_five_receives_and_hide_messages_for_six_function_timeouts()
    {
        var visibility = StorageStack.FunctionTimeout.ToSeconds() * 6;
        foreach (var source in StediConfig.Sources)
        {
            var (_, props) = _storage.Resources("AWS::SQS::Queue").Single(q => q.Id.StartsWith($"{StorageStack.Pascal(source)}LandingQueue"));
            Assert.True(props.GetProperty("VisibilityTimeout").GetDouble() >= visibility);
            var redrive = props.GetProperty("RedrivePolicy");
            Assert.Equal(5, redrive.GetProperty("maxReceiveCount").GetInt32());
            Assert.StartsWith($"{StorageStack.Pascal(source)}LandingDlq", redrive.GetProperty("deadLetterTargetArn").GetProperty("Fn::GetAtt")[0].GetString());
        }
    }

    [Fact]
    public void Refresh_queue_is_FIFO_without_content_based_deduplication_and_has_a_FIFO_DLQ()
    {
        _storage.ResourceCountIs("AWS::SQS::Queue", 8);
        var (_, refresh) = _storage.Resources("AWS::SQS::Queue").Single(q => q.Id.StartsWith("RefreshQueue"));
        Assert.True(refresh.GetProperty("FifoQueue").GetBoolean());
        // DESIGN.md §4 trap a: content-based dedup would drop a refresh sent while the partition is recomputed.
        Assert.False(refresh.GetProperty("ContentBasedDeduplication").GetBoolean());
        Assert.True(refresh.GetProperty("VisibilityTimeout").GetDouble() >= StorageStack.FunctionTimeout.ToSeconds() * 6);
        var dlqId = refresh.GetProperty("RedrivePolicy").GetProperty("deadLetterTargetArn").GetProperty("Fn::GetAtt")[0].GetString()!;
        var (_, dlq) = _storage.Resources("AWS::SQS::Queue").Single(q => q.Id == dlqId);
        Assert.True(dlq.GetProperty("FifoQueue").GetBoolean());
    }

    [Fact]
    public void Every_queue_is_encrypted()
    {
        foreach (var (_, props) in _storage.Resources("AWS::SQS::Queue"))
            Assert.True(props.GetProperty("SqsManagedSseEnabled").GetBoolean());
    }

    [Fact]
    public void Lake_bucket_is_versioned_logged_and_expires_quarantine_and_old_staged_versions()
    {
        _storage.HasResourceProperties("AWS::S3::Bucket", new Dictionary<string, object>
        {
            ["NotificationConfiguration"] = Match.AnyValue(),
            ["VersioningConfiguration"] = new Dictionary<string, object> { ["Status"] = "Enabled" },
            ["LoggingConfiguration"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["DestinationBucketName"] = Match.AnyValue(),
                ["LogFilePrefix"] = "lake/",
            }),
            ["LifecycleConfiguration"] = new Dictionary<string, object>
            {
                ["Rules"] = Match.ArrayWith(new object[]
                {
                    Match.ObjectLike(new Dictionary<string, object>
                    {
                        ["Prefix"] = "quarantine/",
                        ["ExpirationInDays"] = StorageStack.QuarantineExpirationDays,
                        ["Status"] = "Enabled",
                    }),
                    Match.ObjectLike(new Dictionary<string, object>
                    {
                        ["Prefix"] = "staged/",
                        ["NoncurrentVersionExpiration"] = new Dictionary<string, object> { ["NoncurrentDays"] = StorageStack.StagedNoncurrentExpirationDays },
                        ["Status"] = "Enabled",
                    }),
                }),
            },
        });
    }

    [Fact]
    public void Index_table_is_on_demand_with_pk_sk_and_point_in_time_recovery()
    {
        _storage.ResourceCountIs("AWS::DynamoDB::Table", 1);
        _storage.HasResourceProperties("AWS::DynamoDB::Table", new Dictionary<string, object>
        {
            ["BillingMode"] = "PAY_PER_REQUEST",
            ["KeySchema"] = new object[]
            {
                new Dictionary<string, object> { ["AttributeName"] = "pk", ["KeyType"] = "HASH" },
                new Dictionary<string, object> { ["AttributeName"] = "sk", ["KeyType"] = "RANGE" },
            },
            ["AttributeDefinitions"] = Match.ArrayWith(new object[]
            {
                new Dictionary<string, object> { ["AttributeName"] = "pk", ["AttributeType"] = "S" },
                new Dictionary<string, object> { ["AttributeName"] = "sk", ["AttributeType"] = "S" },
            }),
            ["PointInTimeRecoverySpecification"] = new Dictionary<string, object> { ["PointInTimeRecoveryEnabled"] = true },
        });
        var (_, dev) = _storage.Resources("AWS::DynamoDB::Table").Single();
        Assert.False(dev.TryGetProperty("DeletionProtectionEnabled", out var p) && p.GetBoolean());
    }

    [Fact]
    public void Production_protects_the_index_table_from_deletion_and_retains_data()
    {
        var prod = synth.Prod.Storage;
        prod.HasResourceProperties("AWS::DynamoDB::Table", new Dictionary<string, object> { ["DeletionProtectionEnabled"] = true });
        prod.HasResource("AWS::DynamoDB::Table", new Dictionary<string, object> { ["DeletionPolicy"] = "Retain" });
        var buckets = TemplateJson.Parse(prod).GetProperty("Resources").EnumerateObject()
            .Where(r => r.Value.GetProperty("Type").GetString() == "AWS::S3::Bucket").ToList();
        Assert.All(buckets, b => Assert.Equal("Retain", b.Value.GetProperty("DeletionPolicy").GetString()));
    }
}
