using System.Globalization;
using System.Text.Json;
using Amazon.CDK.Assertions;
using Stedi.Cdk;
using Stedi.Deployment;

namespace Stedi.Cdk.Tests;

[Collection(SynthCollection.Name)]
public sealed class IngestionStackTests(SynthFixture synth)
{
    private readonly Template _ingestion = synth.Strict.Ingestion;

    private (string Id, JsonElement Props) Function(string id) =>
        _ingestion.Resources("AWS::Lambda::Function").Single(f => f.Id.StartsWith(id) && !f.Id.StartsWith(id + "Role"));

    [Fact]
    public void Four_functions_run_dotnet10_on_arm64_with_the_agreed_handlers_and_the_shared_sizes()
    {
        _ingestion.ResourceCountIs("AWS::Lambda::Function", 4);
        foreach (var source in StediConfig.Sources)
        {
            var (_, props) = Function($"Ingest{StorageStack.Pascal(source)}");
            Assert.Equal("dotnet10", props.GetProperty("Runtime").GetString());
            Assert.Equal("arm64", Assert.Single(props.GetProperty("Architectures").EnumerateArray()).GetString());
            Assert.Equal("Stedi.Functions::Stedi.Functions.IngestFunction::HandleAsync", props.GetProperty("Handler").GetString());
            Assert.Equal(Topology.IngestMemoryMb, props.GetProperty("MemorySize").GetInt32());
            Assert.Equal(Topology.IngestTimeoutSeconds, props.GetProperty("Timeout").GetInt32());
            Assert.Equal(Topology.IngestEphemeralStorageMb, props.GetProperty("EphemeralStorage").GetProperty("Size").GetInt32());
        }
        var (_, refine) = Function("Refine");
        Assert.Equal("dotnet10", refine.GetProperty("Runtime").GetString());
        Assert.Equal("arm64", Assert.Single(refine.GetProperty("Architectures").EnumerateArray()).GetString());
        Assert.Equal("Stedi.Functions::Stedi.Functions.RefineFunction::HandleAsync", refine.GetProperty("Handler").GetString());
        Assert.Equal(Topology.RefineMemoryMb, refine.GetProperty("MemorySize").GetInt32());
        Assert.Equal(Topology.RefineTimeoutSeconds, refine.GetProperty("Timeout").GetInt32());
        Assert.Equal(Topology.RefineEphemeralStorageMb, refine.GetProperty("EphemeralStorage").GetProperty("Size").GetInt32());
    }

    [Fact]
    public void Functions_get_the_agreed_environment_the_size_guard_and_the_secret_and_ingest_functions_know_their_source()
    {
        string[] common =
        [
            Topology.Env.LakeBucket, Topology.Env.IndexTable, Topology.Env.RefreshQueueUrl, Topology.Env.GlueDatabase,
            Topology.Env.Profile, Topology.Env.MaxObjectBytes, Topology.Env.CustomerKeySecretId,
        ];
        var secretId = synth.Strict.Storage.Resources("AWS::SecretsManager::Secret").Single().Id;
        void CheckCommon(JsonElement env)
        {
            Assert.Equal(common.Order(), env.EnumerateObject().Select(p => p.Name).Where(n => n != Topology.Env.Source).Order());
            Assert.Equal(Topology.MaxObjectBytes.ToString(CultureInfo.InvariantCulture), env.GetProperty(Topology.Env.MaxObjectBytes).GetString());
            Assert.Equal(4L << 30, Topology.MaxObjectBytes);
            Assert.Contains(secretId, TemplateJson.Render(env.GetProperty(Topology.Env.CustomerKeySecretId)));
            Assert.Equal("strict", env.GetProperty(Topology.Env.Profile).GetString());
            Assert.Equal("stedi_dev", env.GetProperty(Topology.Env.GlueDatabase).GetString());
            Assert.False(env.TryGetProperty("STEDI_LOG_HASH_KEY_PARAM", out _));
        }
        foreach (var source in StediConfig.Sources)
        {
            var env = Function($"Ingest{StorageStack.Pascal(source)}").Props.GetProperty("Environment").GetProperty("Variables");
            CheckCommon(env);
            Assert.Equal(source, env.GetProperty(Topology.Env.Source).GetString());
        }
        var refine = Function("Refine").Props.GetProperty("Environment").GetProperty("Variables");
        CheckCommon(refine);
        Assert.False(refine.TryGetProperty(Topology.Env.Source, out _));
        var rubric = synth.Rubric.Ingestion.Resources("AWS::Lambda::Function").First().Props.GetProperty("Environment").GetProperty("Variables");
        Assert.Equal("rubric", rubric.GetProperty(Topology.Env.Profile).GetString());
    }

    [Fact]
    public void Every_event_source_mapping_bounds_its_concurrency_and_reports_batch_item_failures()
    {
        var mappings = _ingestion.Resources("AWS::Lambda::EventSourceMapping").ToList();
        Assert.Equal(4, mappings.Count);
        foreach (var (_, props) in mappings)
        {
            Assert.Equal(["ReportBatchItemFailures"], props.GetProperty("FunctionResponseTypes").EnumerateArray().Select(e => e.GetString()));
            var function = props.GetProperty("FunctionName").GetProperty("Ref").GetString()!;
            var queue = TemplateJson.Render(props.GetProperty("EventSourceArn"));
            var concurrency = props.GetProperty("ScalingConfig").GetProperty("MaximumConcurrency").GetInt32();
            Assert.InRange(concurrency, 2, 1000); // Lambda's range for MaximumConcurrency
            var batch = props.GetProperty("BatchSize").GetInt32();
            if (function.StartsWith("Refine"))
            {
                Assert.Contains("RefreshQueue", queue);
                Assert.Equal(Topology.RefineMaximumConcurrency, concurrency);
                Assert.Equal(Topology.RefineBatchSize, batch);
            }
            else
            {
                var source = StediConfig.Sources.Single(s => function.StartsWith($"Ingest{StorageStack.Pascal(s)}"));
                Assert.Contains($"{StorageStack.Pascal(source)}LandingQueue", queue);
                Assert.Equal(Topology.IngestMaximumConcurrency(source), concurrency);
                Assert.Equal(Topology.IngestBatchSize, batch);
            }
        }
        Assert.Equal(12, StediConfig.Sources.Sum(Topology.IngestMaximumConcurrency));
    }

    [Fact]
    public void Each_mapping_is_created_after_the_role_policy_that_lets_it_read_its_queue()
    {
        var resources = TemplateJson.Parse(_ingestion).GetProperty("Resources");
        foreach (var mapping in resources.EnumerateObject().Where(r => r.Value.GetProperty("Type").GetString() == "AWS::Lambda::EventSourceMapping"))
        {
            var dependsOn = mapping.Value.GetProperty("DependsOn").EnumerateArray().Select(d => d.GetString()!).ToList();
            var function = mapping.Value.GetProperty("Properties").GetProperty("FunctionName").GetProperty("Ref").GetString()!;
            var name = function[..^8]; // logical ids end in an 8-character hash
            Assert.Contains(dependsOn, d => d.StartsWith($"{name}RoleDefaultPolicy", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Queue_visibility_timeout_is_six_times_the_timeout_of_the_function_that_consumes_it()
    {
        var storage = synth.Strict.Storage;
        foreach (var (_, props) in storage.Resources("AWS::SQS::Queue").Where(q => q.Props.TryGetProperty("RedrivePolicy", out _)))
        {
            var fifo = props.TryGetProperty("FifoQueue", out var f) && f.GetBoolean();
            var timeout = fifo ? Function("Refine").Props.GetProperty("Timeout").GetInt32() : Function("IngestCustomer").Props.GetProperty("Timeout").GetInt32();
            Assert.Equal(6 * timeout, props.GetProperty("VisibilityTimeout").GetInt32());
        }
    }

    [Fact]
    public void Every_function_logs_to_its_own_log_group_with_retention()
    {
        _ingestion.ResourceCountIs("AWS::Logs::LogGroup", 4);
        foreach (var (_, props) in _ingestion.Resources("AWS::Lambda::Function"))
        {
            var logging = props.GetProperty("LoggingConfig");
            Assert.Equal("JSON", logging.GetProperty("LogFormat").GetString());
            var logGroup = logging.GetProperty("LogGroup").GetProperty("Ref").GetString();
            Assert.Contains(logGroup, _ingestion.Resources("AWS::Logs::LogGroup").Select(g => g.Id));
        }
        Assert.All(_ingestion.Resources("AWS::Logs::LogGroup"), g => Assert.True(g.Props.GetProperty("RetentionInDays").GetInt32() > 0));
    }

    [Fact]
    public void Alarms_watch_every_DLQ_depth_every_queue_age_and_every_function_into_the_alarm_topic()
    {
        var alarms = _ingestion.Resources("AWS::CloudWatch::Alarm").Select(a => a.Props).ToList();
        var topic = _ingestion.Resources("AWS::SNS::Topic").Single().Id;
        Assert.All(alarms, a => Assert.Equal($"${{{topic}}}", TemplateJson.Render(Assert.Single(a.GetProperty("AlarmActions").EnumerateArray()))));
        string Queue(JsonElement a) => TemplateJson.Render(a.GetProperty("Dimensions")[0].GetProperty("Value"));

        var dlq = alarms.Where(a => a.GetProperty("MetricName").GetString() == "ApproximateNumberOfMessagesVisible").ToList();
        Assert.Equal(4, dlq.Count);
        Assert.All(dlq, a =>
        {
            Assert.Equal(0, a.GetProperty("Threshold").GetDouble());
            Assert.Equal("GreaterThanThreshold", a.GetProperty("ComparisonOperator").GetString());
            Assert.Contains("Dlq", Queue(a));
        });
        Assert.Equal(4, dlq.Select(Queue).Distinct().Count());

        var age = alarms.Where(a => a.GetProperty("MetricName").GetString() == "ApproximateAgeOfOldestMessage").ToList();
        Assert.Equal(4, age.Count);
        Assert.Equal(4, age.Select(Queue).Distinct().Count());
        Assert.All(age, a => Assert.DoesNotContain("Dlq", Queue(a)));
        foreach (var source in StediConfig.Sources)
        {
            var a = Assert.Single(age, a => Queue(a).Contains($"{StorageStack.Pascal(source)}LandingQueue"));
            Assert.Equal(IngestionStack.LandingQueueAgeAlarmSeconds, a.GetProperty("Threshold").GetDouble());
            Assert.True(IngestionStack.LandingQueueAgeAlarmSeconds < Topology.LandingVisibilityTimeoutSeconds);
        }
        var refresh = Assert.Single(age, a => Queue(a).Contains("RefreshQueue"));
        Assert.Equal(IngestionStack.RefreshQueueAgeAlarmSeconds, refresh.GetProperty("Threshold").GetDouble());
        Assert.True(IngestionStack.RefreshQueueAgeAlarmSeconds < Topology.RefreshVisibilityTimeoutSeconds);

        var errors = alarms.Where(a => a.GetProperty("MetricName").GetString() == "Errors" && a.GetProperty("Namespace").GetString() == "AWS/Lambda").ToList();
        Assert.Equal(4, errors.Count);
        Assert.Equal(12, alarms.Count);
    }

    [Fact]
    public void No_function_role_may_call_Glue()
    {
        Assert.DoesNotContain(IamWalker.Statements(synth.Strict.TemplateJson), s => (s.Owner.StartsWith("Ingest") || s.Owner.StartsWith("Refine")) && s.Actions.Any(a => a.StartsWith("glue:")));
    }

    [Fact]
    public void Ingest_functions_touch_only_their_own_source_and_never_trusted_or_curated()
    {
        var statements = IamWalker.Statements(synth.Strict.TemplateJson).ToList();
        foreach (var source in StediConfig.Sources)
        {
            var own = statements.Where(s => s.Owner.StartsWith($"Ingest{StorageStack.Pascal(source)}")).ToList();
            // Besides the bucket's profile record (lake.json at the root, read and created by every function).
            var objects = own.Where(s => s.Actions.Any(a => a.StartsWith("s3:") && a != "s3:ListBucket")).SelectMany(s => s.Resources)
                .Where(r => Tail(r) != Topology.LakeProfileKey).ToList();
            Assert.Contains(objects, r => r.EndsWith($"/{source}/landing/*"));
            Assert.All(objects, r => Assert.Contains($"/{source}/", r));
            // Only the customer source reads staged objects back (the previous version's customer records).
            Assert.Equal(source == "customer", own.Any(s => s.Actions.Contains("s3:GetObject") && s.Resources.Any(r => r.EndsWith("/staged/customer/*"))));
            Assert.DoesNotContain(objects, r => r.Contains("/trusted/") || r.Contains("/curated/"));
            var writes = own.Where(s => s.Actions.Contains("s3:PutObject")).SelectMany(s => s.Resources).Select(Tail).Order().ToList();
            Assert.Equal(new[] { "lake.json", $"manifests/{source}/*", $"quarantine/{source}/*", $"staged/{source}/*" }, writes);
            Assert.Equal(Topology.StagedPrefix(source), IngestionStack.StagedPrefix(source));
        }
        var refineWrites = statements.Where(s => s.Owner.StartsWith("Refine") && s.Actions.Contains("s3:PutObject")).SelectMany(s => s.Resources).Select(Tail).Order();
        // Refine writes no staged object but its compactions: ingest's staged objects are ingest's alone.
        Assert.Equal(["curated/*", "lake.json", "refine/*", "staged/*/compact-*", "trusted/*"], refineWrites);
    }

    [Fact]
    public void Every_function_may_read_and_create_the_buckets_profile_record_and_nothing_else_at_the_root()
    {
        var statements = IamWalker.Statements(synth.Strict.TemplateJson).Where(s => s.Owner.StartsWith("Ingest") || s.Owner.StartsWith("Refine")).ToList();
        foreach (var owner in new[] { "IngestCustomer", "IngestAccelerometer", "IngestStepTrainer", "Refine" })
        {
            var record = Assert.Single(statements, s => s.Owner.StartsWith(owner) && s.Resources.Any(r => Tail(r) == Topology.LakeProfileKey));
            Assert.Equal("Allow", record.Effect);
            Assert.Equal(["s3:GetObject", "s3:PutObject"], record.Actions.Order());
            Assert.Equal([Topology.LakeProfileKey], record.Resources.Select(Tail));
            Assert.Null(record.Condition);
        }
        Assert.Equal("lake.json", Topology.LakeProfileKey);
    }

    // "${Lake...}/staged/customer/*" -> "staged/customer/*"
    private static string Tail(string resource) => resource[(resource.IndexOf("}/", StringComparison.Ordinal) + 2)..];
}
