using Stedi.Twin;
using System.ComponentModel;
using System.Text.Json;
using Amazon.SQS.Model;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Twin.Emulation;
using Stedi.Functions;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi invoke</c>.</summary>
public sealed class InvokeSettings : CommandSettings
{
    /// <summary>Event file.</summary>
    [CommandOption("--event <FILE>")]
    [Description("The invocation payload: an S3 event notification, an SQS event of them, or an SQS event of refresh messages (see events/)")]
    public string Event { get; init; } = "";

    /// <summary>Function.</summary>
    [CommandOption("--function <NAME>")]
    [Description("ingest or refine. Default: refine when the SQS bodies are {\"table\",\"partition\"} messages, else ingest")]
    public string? Function { get; init; }

    /// <summary>Local lake.</summary>
    [CommandOption("--lake <DIR>")]
    [Description("Run on the embedded adapters of this lake folder (default ./lake, unless --endpoint or STEDI_LAKE_BUCKET is set)")]
    public string? Lake { get; init; }

    /// <summary>Emulator or AWS endpoint.</summary>
    [CommandOption("--endpoint <URL>")]
    [Description("Run on the AWS adapters against this endpoint (moto); names come from the STEDI_* variables as in the Lambda. " +
                 "Without --endpoint and --lake, a set STEDI_LAKE_BUCKET means real AWS (default credential chain)")]
    public string? Endpoint { get; init; }

    /// <summary>Profile.</summary>
    [CommandOption("--profile <PROFILE>")]
    [Description("strict or rubric (default: STEDI_PROFILE; on a local lake, else the profile the lake records, and a different one is refused)")]
    public string? Profile { get; init; }

    /// <summary>Function log file.</summary>
    [CommandOption("--log <FILE>")]
    [Description("Write the functions' JSON-lines log to FILE (default: standard error)")]
    public string? Log { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        if (string.IsNullOrEmpty(Event)) return ValidationResult.Error("--event FILE is required");
        if (!File.Exists(Event)) return ValidationResult.Error($"event file not found: {Event}");
        if (Function is not null and not ("ingest" or "refine")) return ValidationResult.Error($"--function must be ingest or refine, not '{Function}'");
        if (Profile is not null && !ProfileNames.IsValid(Profile)) return ValidationResult.Error($"--profile must be strict or rubric, not '{Profile}'");
        if (Lake is not null && Endpoint is not null) return ValidationResult.Error("pass --lake or --endpoint, not both");
        return ValidationResult.Success();
    }
}

/// <summary>
/// <c>stedi invoke</c>: one handler invocation with an event file, like <c>sam local invoke</c>; the response JSON goes
/// to standard output, the function log and a short summary to standard error. The refresh work the invocation
/// causes is drained (the in-process queue locally; the FIFO refresh queue, polled like the refine event source
/// mapping, on moto or AWS) before it returns.
/// </summary>
public sealed class InvokeCommand : AsyncCommand<InvokeSettings>
{
    private static readonly JsonSerializerOptions Indented = new(LambdaJsonContext.Default.Options) { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }; // quotes as \" and accents as written, as the log lines
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, InvokeSettings s, CancellationToken ct)
    {
        var err = Stderr.Console;
        var json = await File.ReadAllTextAsync(s.Event, ct);
        string function;
        try
        {
            using (var doc = JsonDocument.Parse(json))
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new UsageException($"{s.Event} is not an event: expected a JSON object (an S3 event notification, or an SQS batch of them or of refresh messages; see events/), found {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            function = s.Function ?? EventShape.InferFunction(json);
        }
        catch (InvalidOperationException e)
        {
            // Records that are not objects, or a Records that is not an array: not an event a function receives.
            throw new UsageException($"{s.Event} is not an event: {e.Message} (expected {{\"Records\": [{{…}}, …]}}; see events/)");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{s.Event} is not JSON: {e.Message}");
        }
        await using var logFile = s.Log is null ? null : new StreamWriter(s.Log, append: true);
        ILakeLog log = new JsonLinesLakeLog(logFile ?? Console.Error);
        var useAws = s.Endpoint is not null || (s.Lake is null && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("STEDI_LAKE_BUCKET")));
        try
        {
            var (response, drained, where) = useAws
                ? await InvokeAwsAsync(s, function, json, log, ct)
                : await InvokeLocalAsync(s, function, json, log, ct);
            Console.Out.WriteLine(JsonSerializer.Serialize(response, Indented));
            var byStatus = response.Outcomes.GroupBy(o => o.Status).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
            err.MarkupLine(Markup.Escape($"{function} on {where}: {response.Outcomes.Count} record(s) ({string.Join(", ", byStatus)}); " +
                $"batch item failures {response.BatchItemFailures.Count}; refresh work drained: {drained} recompute(s)"));
            return response.BatchItemFailures.Count > 0 ? ExitCodes.DataProblem : ExitCodes.Ok;
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("function configuration is invalid", StringComparison.Ordinal))
        {
            throw new UsageException(e.Message);
        }
        catch (AggregateException e)
        {
            // A direct S3 invocation with failed objects: Lambda reports the function error (and retries the event).
            Console.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["errorType"] = e.GetType().Name, ["errorMessage"] = e.Message }, Relaxed));
            Stderr.Error($"{function} failed: {e.Message}");
            return ExitCodes.DataProblem;
        }
    }

    private static async Task<(BatchResponse, long, string)> InvokeLocalAsync(InvokeSettings s, string function, string json, ILakeLog log, CancellationToken ct)
    {
        var lakeDir = s.Lake ?? "lake";
        if (!Directory.Exists(Path.Combine(lakeDir, "catalog")))
            throw new UsageException($"no lake in {ShownPath.Of(lakeDir)}: run `stedi run` first, or pass --lake DIR (or --endpoint URL for moto or AWS)");
        using var writer = LakeLock.Acquire(lakeDir);
        var env = Environment.GetEnvironmentVariable("STEDI_PROFILE");
        var (requested, requestedBy) = s.Profile is not null ? (s.Profile, $"--profile {s.Profile}")
            : !string.IsNullOrEmpty(env) ? (env, $"STEDI_PROFILE={env}") : (null, "");
        var profile = LakeProfiles.ForWriting(lakeDir, requested, requestedBy,
            $"pass --lake DIR for a lake built with {requested} (stedi run --profile {requested} --lake DIR makes one)");
        using var pipeline = new LocalPipeline(lakeDir, profile, Environment.ProcessorCount, log: log, options: IngestSettingsEnvironment.Options());
        var response = function == "refine"
            ? await new RefineFunction(pipeline.Refiner, log).HandleEventAsync(json, ct)
            : await pipeline.IngestFunction.HandleEventAsync(json, ct);
        if (function != "refine" && response.Outcomes.Any(o => o.Status is "ingested" or "retracted"))
            LakeFolder.MarkUserLanding(lakeDir);
        await pipeline.Queue.DrainAsync(ct);
        return (response, pipeline.Queue.Completed, $"lake {lakeDir}");
    }

    private static async Task<(BatchResponse, long, string)> InvokeAwsAsync(InvokeSettings s, string function, string json, ILakeLog log, CancellationToken ct)
    {
        string? Get(string name) => name switch
        {
            "STEDI_ENDPOINT_URL" when s.Endpoint is not null => s.Endpoint.TrimEnd('/'),
            "STEDI_PROFILE" when s.Profile is not null => s.Profile,
            _ => Environment.GetEnvironmentVariable(name),
        };
        var env = FunctionEnvironment.FromEnvironment(Get);
        // moto accepts any credentials; real AWS gets the default chain (environment, profile, SSO, role).
        var emulator = env.Lake.ServiceUrl is not null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"));
        using var lake = AwsLake.Create(env.Lake, emulator ? AwsLake.EmulatorCredentials : null);
        var refiner = new Refiner(lake.ObjectStore, lake.Index, lake.WorkQueue, env.Options, log);
        // As the deployed functions: nothing is written to a lake bucket built with another profile (its lake.json).
        var refine = new RefineFunction(refiner, log, env.ProfileCheck(lake.S3, "stedi invoke"));
        var response = function == "refine"
            ? await refine.HandleEventAsync(json, ct)
            : await new IngestFunction(new Ingestor(lake.ObjectStore, lake.Index, lake.WorkQueue, env.Options, log), log, env.Source,
                env.ProfileCheck(lake.S3, "stedi invoke")).HandleEventAsync(json, ct);

        var arn = (await lake.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = env.Lake.RefreshQueueUrl, AttributeNames = ["QueueArn"] }, ct)).Attributes["QueueArn"];
        var poller = new EventSourceMappingPoller("refine", lake.Sqs, env.Lake.RefreshQueueUrl, arn, env.Lake.Region,
            refine.HandleEventAsync, new EventSourceMappingOptions(BatchSize: 10, VisibilityTimeoutSeconds: 300, RetryDelaySeconds: 1, WaitTimeSeconds: 1));
        var deadline = DateTime.UtcNow.AddMinutes(15);
        while (DateTime.UtcNow < deadline)
        {
            var r = await poller.PollOnceAsync(ct);
            if (r.Received > 0) continue;
            var a = await lake.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
            {
                QueueUrl = env.Lake.RefreshQueueUrl, AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            }, ct);
            if (a.Attributes.Values.All(v => v == "0")) break;
        }
        return (response, poller.Deleted, env.Lake.ServiceUrl ?? $"AWS {env.Lake.Region}");
    }
}
