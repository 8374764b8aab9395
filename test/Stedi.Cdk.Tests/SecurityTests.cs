using System.Text.Json;
using Amazon.CDK.Assertions;

namespace Stedi.Cdk.Tests;

/// <summary>Encryption, public access and SSL-only policies of every bucket in every stack.</summary>
[Collection(SynthCollection.Name)]
public sealed class SecurityTests(SynthFixture synth)
{
    public static TheoryData<string> Configurations => ["strict", "rubric", "prod"];

    private SynthesizedApp App(string name) => name switch { "rubric" => synth.Rubric, "prod" => synth.Prod, _ => synth.Strict };

    [Theory, MemberData(nameof(Configurations))]
    public void Every_bucket_is_encrypted_and_blocks_all_public_access(string configuration)
    {
        var buckets = App(configuration).All.SelectMany(t => t.Resources("AWS::S3::Bucket")).ToList();
        Assert.Equal(3, buckets.Count); // lake, access logs, Athena results
        foreach (var (id, props) in buckets)
        {
            var sse = props.GetProperty("BucketEncryption").GetProperty("ServerSideEncryptionConfiguration")[0]
                .GetProperty("ServerSideEncryptionByDefault").GetProperty("SSEAlgorithm").GetString();
            Assert.True(sse is "AES256" or "aws:kms", $"{id}: {sse}");
            var block = props.GetProperty("PublicAccessBlockConfiguration");
            foreach (var flag in new[] { "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets" })
                Assert.True(block.GetProperty(flag).GetBoolean(), $"{id}: {flag}");
        }
    }

    [Theory, MemberData(nameof(Configurations))]
    public void Every_bucket_denies_requests_without_TLS(string configuration)
    {
        foreach (var template in App(configuration).All)
        {
            var bucketIds = template.Resources("AWS::S3::Bucket").Select(b => b.Id).ToHashSet();
            var sslOnly = template.Resources("AWS::S3::BucketPolicy")
                .Where(p => p.Props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().Any(IsDenyInsecureTransport))
                .Select(p => p.Props.GetProperty("Bucket").GetProperty("Ref").GetString())
                .ToHashSet();
            Assert.Subset(sslOnly!, bucketIds);
        }
    }

    [Fact]
    public void Every_queue_and_the_alarm_topic_deny_requests_without_TLS()
    {
        foreach (var (id, props) in synth.Strict.Storage.Resources("AWS::SQS::QueuePolicy"))
            Assert.Contains(props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray(), IsDenyInsecureTransport);
        var queuePolicies = synth.Strict.Storage.Resources("AWS::SQS::QueuePolicy")
            .SelectMany(p => p.Props.GetProperty("Queues").EnumerateArray().Select(q => q.GetProperty("Ref").GetString())).ToHashSet();
        Assert.Equal(synth.Strict.Storage.Resources("AWS::SQS::Queue").Select(q => q.Id).ToHashSet(), queuePolicies!);
        var topicPolicy = synth.Strict.Ingestion.Resources("AWS::SNS::TopicPolicy").Single();
        Assert.Contains(topicPolicy.Props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray(), IsDenyInsecureTransport);
    }

    [Fact]
    public void The_alarm_topic_lets_this_accounts_CloudWatch_alarms_publish()
    {
        // A topic policy replaces SNS's default one: with only the Deny, CloudWatch could not publish and no alarm would notify.
        var statements = synth.Strict.Ingestion.Resources("AWS::SNS::TopicPolicy").Single().Props
            .GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().ToList();
        var allow = Assert.Single(statements, s => s.GetProperty("Effect").GetString() == "Allow");
        Assert.Equal("cloudwatch.amazonaws.com", allow.GetProperty("Principal").GetProperty("Service").GetString());
        Assert.Equal("sns:Publish", allow.GetProperty("Action").GetString());
        var condition = allow.GetProperty("Condition");
        Assert.True(condition.GetProperty("StringEquals").TryGetProperty("aws:SourceAccount", out _));
        var sourceArn = condition.GetProperty("ArnLike").GetProperty("aws:SourceArn").GetRawText();
        Assert.Contains(":cloudwatch:", sourceArn);
        Assert.Contains(":alarm:*", sourceArn);
        // Every alarm's action is that topic.
        var topic = synth.Strict.Ingestion.Resources("AWS::SNS::Topic").Single().Id;
        var alarms = synth.Strict.Ingestion.Resources("AWS::CloudWatch::Alarm").ToList();
        Assert.NotEmpty(alarms);
        foreach (var (id, props) in alarms)
            Assert.Equal(topic, props.GetProperty("AlarmActions")[0].GetProperty("Ref").GetString());
    }

    [Fact]
    public void Access_log_delivery_is_granted_only_to_the_stacks_own_buckets()
    {
        // Every Allow to the S3 logging service on the access-log bucket names its source bucket and account; CDK's own
        // grant for the Athena results bucket (another stack) carried neither.
        var policies = synth.Strict.Storage.Resources("AWS::S3::BucketPolicy").ToList();
        var logging = policies.SelectMany(p => p.Props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            .Where(st => st.GetProperty("Effect").GetString() == "Allow" && st.TryGetProperty("Principal", out var pr)
                         && pr.TryGetProperty("Service", out var svc) && svc.GetRawText().Contains("logging.s3.amazonaws.com"))
            .ToList();
        Assert.Equal(2, logging.Count); // the lake bucket's and the Athena results bucket's
        foreach (var st in logging)
        {
            var condition = st.GetProperty("Condition");
            Assert.True(condition.GetProperty("ArnLike").TryGetProperty("aws:SourceArn", out _), st.GetRawText());
            Assert.True(condition.GetProperty("StringEquals").TryGetProperty("aws:SourceAccount", out _), st.GetRawText());
        }
        Assert.Contains(logging, st => st.GetRawText().Contains("athena-results/*") && st.GetRawText().Contains("stedi-athena-"));
        // The results bucket logs there, by the resource's own property.
        var results = synth.Strict.Catalog.Resources("AWS::S3::Bucket").Single().Props.GetProperty("LoggingConfiguration");
        Assert.Equal("athena-results/", results.GetProperty("LogFilePrefix").GetString());
    }

    private static bool IsDenyInsecureTransport(JsonElement s) =>
        s.GetProperty("Effect").GetString() == "Deny"
        && s.TryGetProperty("Condition", out var c)
        && c.TryGetProperty("Bool", out var b)
        && b.TryGetProperty("aws:SecureTransport", out var t)
        && t.GetString() == "false";
}
