using System.Text.Json;
using Amazon.CDK.Assertions;
using Stedi.Cdk;
using Stedi.Deployment;

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
    public void Landing_queues_redrive_to_a_DLQ_after_the_shared_receive_count_and_hide_messages_for_six_ingest_timeouts()
    {
        foreach (var source in StediConfig.Sources)
        {
            var (_, props) = _storage.Resources("AWS::SQS::Queue").Single(q => q.Id.StartsWith($"{StorageStack.Pascal(source)}LandingQueue"));
            Assert.Equal(6 * Topology.IngestTimeoutSeconds, props.GetProperty("VisibilityTimeout").GetInt32());
            var redrive = props.GetProperty("RedrivePolicy");
            Assert.Equal(Topology.MaxReceiveCount, redrive.GetProperty("maxReceiveCount").GetInt32());
            Assert.StartsWith($"{StorageStack.Pascal(source)}LandingDlq", redrive.GetProperty("deadLetterTargetArn").GetProperty("Fn::GetAtt")[0].GetString());
        }
    }

    [Fact]
    public void Refresh_queue_is_high_throughput_FIFO_without_content_based_deduplication_and_has_a_FIFO_DLQ()
    {
        _storage.ResourceCountIs("AWS::SQS::Queue", 8);
        var (_, refresh) = _storage.Resources("AWS::SQS::Queue").Single(q => q.Id.StartsWith("RefreshQueue"));
        Assert.True(refresh.GetProperty("FifoQueue").GetBoolean());
        // docs/ARCHITECTURE.md §7, trap a: content-based dedup would drop a refresh sent while the partition is recomputed.
        Assert.False(refresh.GetProperty("ContentBasedDeduplication").GetBoolean());
        // High-throughput mode: quota per message group (one group per partition), dedup scoped to the group.
        Assert.Equal("messageGroup", refresh.GetProperty("DeduplicationScope").GetString());
        Assert.Equal("perMessageGroupId", refresh.GetProperty("FifoThroughputLimit").GetString());
        // The emulated deployment sets the same attributes from Topology.
        Assert.Equal(Topology.RefreshDeduplicationScope, refresh.GetProperty("DeduplicationScope").GetString());
        Assert.Equal(Topology.RefreshFifoThroughputLimit, refresh.GetProperty("FifoThroughputLimit").GetString());
        Assert.Equal(6 * Topology.RefineTimeoutSeconds, refresh.GetProperty("VisibilityTimeout").GetInt32());
        Assert.Equal(10, refresh.GetProperty("DelaySeconds").GetInt32());
        Assert.Equal(Topology.RefreshDeliveryDelaySeconds, refresh.GetProperty("DelaySeconds").GetInt32());
        var redrive = refresh.GetProperty("RedrivePolicy");
        Assert.Equal(Topology.MaxReceiveCount, redrive.GetProperty("maxReceiveCount").GetInt32());
        var dlqId = redrive.GetProperty("deadLetterTargetArn").GetProperty("Fn::GetAtt")[0].GetString()!;
        var (_, dlq) = _storage.Resources("AWS::SQS::Queue").Single(q => q.Id == dlqId);
        Assert.True(dlq.GetProperty("FifoQueue").GetBoolean());
    }

    [Fact]
    public void Every_queue_is_encrypted()
    {
        foreach (var (_, props) in _storage.Resources("AWS::SQS::Queue"))
            Assert.True(props.GetProperty("SqsManagedSseEnabled").GetBoolean());
    }

    private JsonElement LakeBucket() =>
        _storage.Resources("AWS::S3::Bucket").Single(b => b.Props.TryGetProperty("NotificationConfiguration", out _)).Props;

    private static JsonElement Rule(JsonElement lake, string id) =>
        lake.GetProperty("LifecycleConfiguration").GetProperty("Rules").EnumerateArray().Single(r => r.GetProperty("Id").GetString() == id);

    [Fact]
    public void Lake_bucket_is_versioned_and_logged()
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
        });
    }

    [Fact]
    public void Lifecycle_expires_old_landing_versions_after_days_and_derived_ones_after_one_day_and_removes_expired_delete_markers()
    {
        var lake = LakeBucket();
        var rules = lake.GetProperty("LifecycleConfiguration").GetProperty("Rules").EnumerateArray().ToList();
        Assert.All(rules, r => Assert.Equal("Enabled", r.GetProperty("Status").GetString()));

        foreach (var source in StediConfig.Sources)
        {
            var landing = Rule(lake, $"expire-noncurrent-{source}-landing");
            Assert.Equal(Topology.LandingPrefix(source), landing.GetProperty("Prefix").GetString());
            Assert.Equal(StorageStack.LandingNoncurrentExpirationDays, landing.GetProperty("NoncurrentVersionExpiration").GetProperty("NoncurrentDays").GetInt32());
            Assert.False(landing.TryGetProperty("ExpirationInDays", out _), "current landing objects never expire");
        }
        Assert.InRange(StorageStack.LandingNoncurrentExpirationDays, 1, 7);

        foreach (var (id, prefix) in new[]
        {
            ("expire-noncurrent-staged", "staged/"), ("expire-quarantine", "quarantine/"), ("expire-noncurrent-manifests", "manifests/"),
            ("expire-noncurrent-refine", "refine/"), ("expire-noncurrent-trusted", "trusted/"), ("expire-noncurrent-curated", "curated/"),
        })
        {
            var rule = Rule(lake, id);
            Assert.Equal(prefix, rule.GetProperty("Prefix").GetString());
            Assert.Equal(1, rule.GetProperty("NoncurrentVersionExpiration").GetProperty("NoncurrentDays").GetInt32());
        }
        Assert.Equal(StorageStack.QuarantineExpirationDays, Rule(lake, "expire-quarantine").GetProperty("ExpirationInDays").GetInt32());

        // One bucket-wide rule removes delete markers left without versions (quarantine's rule expires current objects
        // after days, which S3 does not allow together with ExpiredObjectDeleteMarker) and aborts stale uploads.
        var markers = Rule(lake, "remove-expired-delete-markers-and-uploads");
        Assert.False(markers.TryGetProperty("Prefix", out _));
        Assert.False(markers.TryGetProperty("Filter", out _));
        Assert.True(markers.GetProperty("ExpiredObjectDeleteMarker").GetBoolean());
        Assert.Equal(1, markers.GetProperty("AbortIncompleteMultipartUpload").GetProperty("DaysAfterInitiation").GetInt32());
        Assert.DoesNotContain(rules, r => r.TryGetProperty("ExpiredObjectDeleteMarker", out _) && r.TryGetProperty("ExpirationInDays", out _));
    }

    [Fact]
    public void Lake_bucket_uses_SSE_KMS_with_its_own_rotating_key_and_a_bucket_key()
    {
        var sse = Assert.Single(LakeBucket().GetProperty("BucketEncryption").GetProperty("ServerSideEncryptionConfiguration").EnumerateArray());
        Assert.True(sse.GetProperty("BucketKeyEnabled").GetBoolean());
        var byDefault = sse.GetProperty("ServerSideEncryptionByDefault");
        Assert.Equal("aws:kms", byDefault.GetProperty("SSEAlgorithm").GetString());
        var keyId = TemplateJson.Render(byDefault.GetProperty("KMSMasterKeyID"));
        var (id, key) = _storage.Resources("AWS::KMS::Key").Single();
        Assert.Equal($"${{{id}.Arn}}", keyId);
        Assert.True(key.GetProperty("EnableKeyRotation").GetBoolean());
        // The key policy only delegates to IAM (the account); who may decrypt is decided by identity policies, each
        // through S3 only (see Only_the_pipeline_break_glass_and_readers_may_decrypt_lake_objects).
        var statements = key.GetProperty("KeyPolicy").GetProperty("Statement").EnumerateArray().ToList();
        var allow = Assert.Single(statements, s => s.GetProperty("Effect").GetString() == "Allow");
        Assert.EndsWith(":root", TemplateJson.Render(allow.GetProperty("Principal").GetProperty("AWS")));
    }

    [Fact]
    public void Lake_bucket_policy_denies_raw_zone_reads_to_every_principal_but_the_pipeline_roles_and_the_break_glass_role()
    {
        var policy = _storage.Resources("AWS::S3::BucketPolicy").Single(p => p.Props.GetProperty("Bucket").GetProperty("Ref").GetString()!.StartsWith("Lake"));
        var deny = policy.Props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray()
            .Single(s => s.TryGetProperty("Sid", out var sid) && sid.GetString() == "DenyRawZoneReadsExceptPipelineAndBreakGlass");
        Assert.Equal("Deny", deny.GetProperty("Effect").GetString());
        Assert.Equal("*", deny.GetProperty("Principal").GetProperty("AWS").GetString());
        Assert.Equal(["s3:GetObject", "s3:GetObjectVersion"], TemplateJson.AsArray(deny.GetProperty("Action")).Select(a => a.GetString()).Order());
        var resources = TemplateJson.AsArray(deny.GetProperty("Resource")).Select(TemplateJson.Render).ToList();
        string[] expected = [.. StediConfig.Sources.Select(s => $"{s}/landing/*"), "staged/*", "quarantine/*"];
        Assert.Equal(expected.Order(), resources.Select(r => r[(r.IndexOf("}/", StringComparison.Ordinal) + 2)..]).Order());
        Assert.All(resources, r => Assert.StartsWith("${Lake", r));

        var exempt = TemplateJson.AsArray(deny.GetProperty("Condition").GetProperty("ArnNotEquals").GetProperty("aws:PrincipalArn"))
            .Select(TemplateJson.Render).ToList();
        Assert.Equal(RoleArnsOfNamedRoles(synth.Strict, "Ingest", "Refine").Append(BreakGlassArn()).Order(), exempt.Order());
    }

    /// <summary>The ARNs, rendered like the Storage stack writes them, of the named roles whose logical id starts with
    /// one of <paramref name="prefixes"/> in the Ingestion stack.</summary>
    internal static IEnumerable<string> RoleArnsOfNamedRoles(SynthesizedApp app, params string[] prefixes) =>
        app.Ingestion.Resources("AWS::IAM::Role")
            .Where(r => prefixes.Any(p => r.Id.StartsWith(p)))
            .Select(r => "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + TemplateJson.Render(r.Props.GetProperty("RoleName")));

    private string BreakGlassArn()
    {
        var (_, role) = _storage.Resources("AWS::IAM::Role").Single(r => r.Id.StartsWith("BreakGlass"));
        return "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + TemplateJson.Render(role.GetProperty("RoleName"));
    }

    [Fact]
    public void Break_glass_role_needs_MFA_and_reads_only_the_raw_zones()
    {
        var (id, role) = _storage.Resources("AWS::IAM::Role").Single(r => r.Id.StartsWith("BreakGlass"));
        Assert.Equal("stedi-dev-break-glass-${AWS::Region}", TemplateJson.Render(role.GetProperty("RoleName")));
        var trust = Assert.Single(role.GetProperty("AssumeRolePolicyDocument").GetProperty("Statement").EnumerateArray());
        Assert.EndsWith(":root", TemplateJson.Render(trust.GetProperty("Principal").GetProperty("AWS")));
        Assert.Equal("true", trust.GetProperty("Condition").GetProperty("Bool").GetProperty("aws:MultiFactorAuthPresent").GetString());
        Assert.Equal(3600, role.GetProperty("MaxSessionDuration").GetInt32());

        var statements = IamWalker.Statements(synth.Strict.TemplateJson).Where(s => s.Owner == id).ToList();
        Assert.Equal(["kms:Decrypt", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"],
            statements.SelectMany(s => s.Actions).Order());
        var objects = statements.Single(s => s.Actions.Contains("s3:GetObject")).Resources;
        Assert.Equal(5, objects.Count);
        Assert.DoesNotContain(objects, r => r.Contains("/trusted/") || r.Contains("/curated/"));
    }

    [Fact]
    public void Customer_key_secret_is_a_generated_64_character_string_readable_only_by_the_pipeline_roles()
    {
        var (secretId, secret) = _storage.Resources("AWS::SecretsManager::Secret").Single();
        var generate = secret.GetProperty("GenerateSecretString");
        Assert.Equal(64, generate.GetProperty("PasswordLength").GetInt32());
        Assert.True(generate.GetProperty("ExcludePunctuation").GetBoolean());
        Assert.False(generate.TryGetProperty("IncludeSpace", out var space) && space.GetBoolean());
        Assert.False(secret.TryGetProperty("Name", out _));

        // Resource policy: deny reading to every principal but the four function roles (not even the break-glass role).
        var (_, policy) = _storage.Resources("AWS::SecretsManager::ResourcePolicy").Single();
        Assert.Equal(secretId, policy.GetProperty("SecretId").GetProperty("Ref").GetString());
        var statement = Assert.Single(policy.GetProperty("ResourcePolicy").GetProperty("Statement").EnumerateArray());
        Assert.Equal("Deny", statement.GetProperty("Effect").GetString());
        Assert.Equal("secretsmanager:GetSecretValue", statement.GetProperty("Action").GetString());
        var exempt = TemplateJson.AsArray(statement.GetProperty("Condition").GetProperty("ArnNotEquals").GetProperty("aws:PrincipalArn"))
            .Select(TemplateJson.Render).Order().ToList();
        Assert.Equal(4, exempt.Count);
        Assert.Equal(RoleArnsOfNamedRoles(synth.Strict, "Ingest", "Refine").Order(), exempt);

        // Grants: only the four function roles' policies allow GetSecretValue, and only on this secret.
        var grants = IamWalker.Statements(synth.Strict.TemplateJson)
            .Where(s => s.Effect == "Allow" && s.Actions.Any(a => a.StartsWith("secretsmanager:"))).ToList();
        Assert.Equal(4, grants.Select(g => g.Owner).Distinct().Count());
        Assert.All(grants, g =>
        {
            Assert.Matches("^(Ingest|Refine)", g.Owner);
            Assert.Equal(["secretsmanager:GetSecretValue"], g.Actions);
            Assert.Contains(secretId, Assert.Single(g.Resources));
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
