using System.Text.Json;
using Amazon.CDK.Assertions;
using Stedi.Cdk;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk.Tests;

[Collection(SynthCollection.Name)]
public sealed class IngestionStackTests(SynthFixture synth)
{
    private readonly Template _ingestion = synth.Strict.Ingestion;

    private (string Id, JsonElement Props) Function(string id) =>
        _ingestion.Resources("AWS::Lambda::Function").Single(f => f.Id.StartsWith(id) && !f.Id.StartsWith(id + "Role"));

    [Fact]
    public void Four_functions_run_dotnet10_on_arm64_with_the_agreed_handlers()
    {
        _ingestion.ResourceCountIs("AWS::Lambda::Function", 4);
        foreach (var source in StediConfig.Sources)
        {
            var (_, props) = Function($"Ingest{StorageStack.Pascal(source)}");
            Assert.Equal("dotnet10", props.GetProperty("Runtime").GetString());
            Assert.Equal("arm64", Assert.Single(props.GetProperty("Architectures").EnumerateArray()).GetString());
            Assert.Equal("Stedi.Functions::Stedi.Functions.IngestFunction::HandleAsync", props.GetProperty("Handler").GetString());
            Assert.Equal(IngestionStack.IngestMemoryMb, props.GetProperty("MemorySize").GetInt32());
        }
        var (_, refine) = Function("Refine");
        Assert.Equal("dotnet10", refine.GetProperty("Runtime").GetString());
        Assert.Equal("arm64", Assert.Single(refine.GetProperty("Architectures").EnumerateArray()).GetString());
        Assert.Equal("Stedi.Functions::Stedi.Functions.RefineFunction::HandleAsync", refine.GetProperty("Handler").GetString());
    }

    [Fact]
    public void Functions_get_the_agreed_environment_and_ingest_functions_know_their_source()
    {
        string[] common = ["STEDI_LAKE_BUCKET", "STEDI_INDEX_TABLE", "STEDI_REFRESH_QUEUE_URL", "STEDI_GLUE_DATABASE", "STEDI_PROFILE"];
        foreach (var source in StediConfig.Sources)
        {
            var env = Function($"Ingest{StorageStack.Pascal(source)}").Props.GetProperty("Environment").GetProperty("Variables");
            foreach (var name in common) Assert.True(env.TryGetProperty(name, out _), name);
            Assert.Equal(source, env.GetProperty("STEDI_SOURCE").GetString());
            Assert.Equal("strict", env.GetProperty("STEDI_PROFILE").GetString());
            Assert.Equal("stedi_dev", env.GetProperty("STEDI_GLUE_DATABASE").GetString());
        }
        var refine = Function("Refine").Props.GetProperty("Environment").GetProperty("Variables");
        foreach (var name in common) Assert.True(refine.TryGetProperty(name, out _), name);
        Assert.False(refine.TryGetProperty("STEDI_SOURCE", out _));
        var rubric = synth.Rubric.Ingestion.Resources("AWS::Lambda::Function").First().Props.GetProperty("Environment").GetProperty("Variables");
        Assert.Equal("rubric", rubric.GetProperty("STEDI_PROFILE").GetString());
    }

    [Fact]
    public void Event_source_mappings_connect_each_queue_to_its_function_and_report_batch_item_failures()
    {
        var mappings = _ingestion.Resources("AWS::Lambda::EventSourceMapping").ToList();
        Assert.Equal(4, mappings.Count);
        foreach (var (id, props) in mappings)
        {
            Assert.Equal(["ReportBatchItemFailures"], props.GetProperty("FunctionResponseTypes").EnumerateArray().Select(e => e.GetString()));
            var function = props.GetProperty("FunctionName").GetProperty("Ref").GetString()!;
            var queue = TemplateJson.Render(props.GetProperty("EventSourceArn"));
            if (function.StartsWith("Refine"))
                Assert.Contains("RefreshQueue", queue);
            else
            {
                var source = StediConfig.Sources.Single(s => function.StartsWith($"Ingest{StorageStack.Pascal(s)}"));
                Assert.Contains($"{StorageStack.Pascal(source)}LandingQueue", queue);
            }
        }
    }

    [Fact]
    public void Queue_visibility_timeout_is_at_least_six_function_timeouts()
    {
        var timeouts = _ingestion.Resources("AWS::Lambda::Function").Select(f => f.Props.GetProperty("Timeout").GetInt32()).ToList();
        var visibilities = synth.Strict.Storage.Resources("AWS::SQS::Queue")
            .Where(q => q.Props.TryGetProperty("RedrivePolicy", out _))
            .Select(q => q.Props.GetProperty("VisibilityTimeout").GetInt32()).ToList();
        Assert.Equal(4, visibilities.Count);
        Assert.All(visibilities, v => Assert.True(v >= 6 * timeouts.Max(), $"{v} < 6 x {timeouts.Max()}"));
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
    public void Alarms_watch_every_DLQ_every_function_and_the_refresh_queue_age()
    {
        var alarms = _ingestion.Resources("AWS::CloudWatch::Alarm").Select(a => a.Props).ToList();
        var dlqAlarms = alarms.Where(a => a.GetProperty("MetricName").GetString() == "ApproximateNumberOfMessagesVisible").ToList();
        Assert.Equal(4, dlqAlarms.Count);
        Assert.All(dlqAlarms, a =>
        {
            Assert.Equal(0, a.GetProperty("Threshold").GetDouble());
            Assert.Equal("GreaterThanThreshold", a.GetProperty("ComparisonOperator").GetString());
            Assert.Contains("Dlq", TemplateJson.Render(a.GetProperty("Dimensions")[0].GetProperty("Value")));
        });
        var errorAlarms = alarms.Where(a => a.GetProperty("MetricName").GetString() == "Errors" && a.GetProperty("Namespace").GetString() == "AWS/Lambda").ToList();
        Assert.Equal(4, errorAlarms.Count);
        var age = Assert.Single(alarms, a => a.GetProperty("MetricName").GetString() == "ApproximateAgeOfOldestMessage");
        Assert.Contains("RefreshQueue", TemplateJson.Render(age.GetProperty("Dimensions")[0].GetProperty("Value")));
        Assert.All(alarms, a => Assert.Equal(1, a.GetProperty("AlarmActions").GetArrayLength()));
    }

    [Fact]
    public void Refine_may_register_partitions_only_in_the_five_published_tables()
    {
        var glue = IamWalker.Statements(synth.Strict.TemplateJson)
            .Where(s => s.Actions.Any(a => a.StartsWith("glue:")))
            .ToList();
        var statement = Assert.Single(glue);
        Assert.Contains("Refine", statement.Owner);
        Assert.Contains("glue:BatchCreatePartition", statement.Actions);
        var tables = statement.Resources.Where(r => r.Contains(":table/")).Select(r => r.Split('/').Last()).Order().ToList();
        Assert.Equal(Tables.Published(ConsentProfile.Strict).Select(t => t.Name).Order(), tables);
        Assert.Contains(statement.Resources, r => r.EndsWith(":catalog"));
        Assert.Contains(statement.Resources, r => r.EndsWith(":database/stedi_dev"));
    }

    [Fact]
    public void Ingest_functions_touch_only_their_own_landing_prefix_and_never_trusted_or_curated()
    {
        var statements = IamWalker.Statements(synth.Strict.TemplateJson).ToList();
        foreach (var source in StediConfig.Sources)
        {
            var own = statements.Where(s => s.Owner.StartsWith($"Ingest{StorageStack.Pascal(source)}")).ToList();
            var s3Resources = own.Where(s => s.Actions.Any(a => a.StartsWith("s3:Get") || a.StartsWith("s3:Put"))).SelectMany(s => s.Resources).ToList();
            Assert.Contains(s3Resources, r => r.EndsWith($"/{source}/landing/*"));
            Assert.DoesNotContain(s3Resources, r => r.Contains("/landing/") && !r.EndsWith($"/{source}/landing/*"));
            Assert.DoesNotContain(s3Resources, r => r.Contains("/trusted/") || r.Contains("/curated/"));
            var writes = own.Where(s => s.Actions.Contains("s3:PutObject")).SelectMany(s => s.Resources).ToList();
            Assert.DoesNotContain(writes, r => r.Contains("/landing/"));
        }
        var refineWrites = statements.Where(s => s.Owner.StartsWith("Refine") && s.Actions.Contains("s3:PutObject")).SelectMany(s => s.Resources).ToList();
        Assert.Equal(["/curated/*", "/trusted/*"], refineWrites.Select(r => r[r.LastIndexOf("/", r.Length - 3)..]).Order());
    }
}
