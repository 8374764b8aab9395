using System.Text.Json;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Reading;

namespace Stedi.Functions;

/// <summary>
/// Ingest function: triggered by S3 event notifications of a landing prefix, directly or through the source's SQS
/// queue. Parses the event, ingests each created object, reports per-record outcomes; for SQS input returns a partial
/// batch response so one bad object never fails or replays its neighbours.
/// Handler: <c>Stedi.Functions::Stedi.Functions.IngestFunction::HandleAsync</c>.
/// </summary>
public sealed class IngestFunction
{
    private readonly Ingestor _ingestor;
    private readonly ILakeLog _log;
    private readonly LandingSource? _source;
    private readonly LakeBucketProfile? _profile;

    /// <summary>Used by the Lambda runtime: builds the AWS adapters from the environment (<see cref="FunctionEnvironment"/>).</summary>
    /// <exception cref="InvalidOperationException">The environment is incomplete (the message names what is missing).</exception>
    public IngestFunction() : this(FunctionEnvironment.FromEnvironment()) { }

    private IngestFunction(FunctionEnvironment env) : this(CreateIngestor(env, out var log, out var profile), log, env.Source, profile) { }

    private static Ingestor CreateIngestor(FunctionEnvironment env, out ILakeLog log, out LakeBucketProfile profile)
    {
        var lake = AwsLake.Create(env.Lake);
        log = new JsonLinesLakeLog(Console.Out);
        profile = env.ProfileCheck(lake.S3);
        return new Ingestor(lake.ObjectStore, lake.Index, lake.WorkQueue, env.Options, log);
    }

    /// <summary>For tests and local runs: any adapters.</summary>
    /// <param name="ingestor">The domain ingest over the chosen adapters.</param>
    /// <param name="log">Structured log.</param>
    /// <param name="source">The only source this function serves, or null for all.</param>
    /// <param name="profile">The lake bucket's profile check (deployments: every ingest or retraction refuses to write to a
    /// bucket built with another profile), or null when the caller checked the lake's profile itself (a local lake's <c>lake.json</c>).</param>
    public IngestFunction(Ingestor ingestor, ILakeLog log, LandingSource? source = null, LakeBucketProfile? profile = null) =>
        (_ingestor, _log, _source, _profile) = (ingestor, log, source, profile);

    /// <summary>Lambda entry point (raw Stream contract): an S3 event notification or an SQS event of them in; a <see cref="BatchResponse"/> out.</summary>
    /// <exception cref="AggregateException">Direct S3 invocation only: some objects failed (after the others were processed), so Lambda retries.</exception>
    public Task<Stream> HandleAsync(Stream input) => LambdaStreams.HandleAsync(input, json => HandleEventAsync(json));

    /// <summary>Handles one event document and returns the outcomes.</summary>
    public async Task<BatchResponse> HandleEventAsync(string json, CancellationToken ct = default)
    {
        var response = new BatchResponse();
        using var doc = JsonDocument.Parse(json);
        if (EventShape.IsSqs(doc.RootElement))
        {
            var sqs = doc.RootElement.Deserialize(LambdaJsonContext.Default.SqsEvent)!;
            foreach (var m in sqs.Records ?? [])
            {
                var outcomes = await HandleNotificationAsync(m.Body ?? "", m.MessageId, ct);
                response.Outcomes.AddRange(outcomes);
                if (outcomes.Any(o => o.Status is "failed"))
                    response.BatchItemFailures.Add(new BatchItemFailure { ItemIdentifier = m.MessageId ?? "" });
            }
            return response;
        }
        response.Outcomes.AddRange(await HandleNotificationAsync(json, null, ct));
        var failed = response.Outcomes.Where(o => o.Status is "failed").ToList();
        if (failed.Count > 0)
            throw new AggregateException($"{failed.Count} object(s) failed: " + string.Join(", ", failed.Select(f => $"{f.Key} ({f.Reason})")));
        return response;
    }

    /// <summary>The <c>Message</c> of an SNS notification envelope (<c>{"Type":"Notification","Message":"…"}</c>), or null for any other body.</summary>
    private static string? SnsMessage(string body)
    {
        if (!body.Contains("\"Notification\"", StringComparison.Ordinal)) return null;
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.ValueKind == JsonValueKind.Object
               && doc.RootElement.TryGetProperty("Type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "Notification"
               && doc.RootElement.TryGetProperty("Message", out var message) && message.ValueKind == JsonValueKind.String
            ? message.GetString()
            : null;
    }

    private async Task<List<RecordOutcome>> HandleNotificationAsync(string body, string? messageId, CancellationToken ct)
    {
        S3EventNotification? n;
        try
        {
            // S3 → SNS → SQS (a topic fanning the notifications out): the S3 event is the SNS envelope's Message, as text.
            if (SnsMessage(body) is { } inner)
            {
                _log.Info("sns_envelope", ("messageId", messageId), ("reason", "the S3 event notification is the Message of an SNS notification"));
                body = inner;
            }
            n = JsonSerializer.Deserialize(body, LambdaJsonContext.Default.S3EventNotification);
        }
        catch (JsonException e)
        {
            _log.Error("bad_notification", ("messageId", messageId), ("error", e.Message));
            return [new RecordOutcome { Key = "", Status = "failed", Reason = "message body is not an S3 event notification", MessageId = messageId }];
        }
        if (n?.Event == "s3:TestEvent")
        {
            _log.Info("s3_test_event", ("bucket", n.Bucket), ("reason", "sent by S3 when notifications are configured: nothing to ingest"), ("messageId", messageId));
            return [new RecordOutcome { Key = "", Status = "test_event", MessageId = messageId }];
        }
        if (n?.Records is not { Count: > 0 })
        {
            // JSON, but no S3 records (a refresh message sent to the wrong queue, a hand-written test message): a failure,
            // so that it is retried and then dead-lettered where someone sees it, never deleted without a trace.
            const string reason = "message body is JSON but not an S3 event notification (no Records)";
            _log.Error("bad_notification", ("messageId", messageId), ("error", reason));
            return [new RecordOutcome { Key = "", Status = "failed", Reason = reason, MessageId = messageId }];
        }
        var outcomes = new List<RecordOutcome>();
        foreach (var r in n.Records)
        {
            var key = r.S3?.Object?.KeyDecoded ?? "";
            var outcome = new RecordOutcome { Key = key, MessageId = messageId };
            outcomes.Add(outcome);
            var removed = r.EventName?.StartsWith("ObjectRemoved:", StringComparison.Ordinal) == true;
            if (!removed && (r.EventName is null || !r.EventName.StartsWith("ObjectCreated:", StringComparison.Ordinal)))
            {
                outcome.Status = "ignored"; outcome.Reason = $"event {r.EventName ?? "(no name)"} is neither ObjectCreated:* nor ObjectRemoved:*";
                _log.Info("ignored", ("key", key), ("reason", outcome.Reason), ("messageId", messageId));
                continue;
            }
            // A key of another source than the one this function serves (a misrouted notification). Keys outside every
            // landing prefix and folder markers are the ingest's to judge, and it logs them.
            if (_source is not null && LandingSource.ForKey(key) is { } source && source != _source && !LandingSource.IsFolderMarker(key))
            {
                outcome.Status = "ignored"; outcome.Reason = $"key outside this function's landing prefix ({_source.LandingPrefix})";
                _log.Info("ignored", ("key", key), ("reason", outcome.Reason), ("messageId", messageId));
                continue;
            }
            try
            {
                // Before anything is read or written: a function whose STEDI_PROFILE is not the bucket's ingests nothing.
                // (Keys the ingest ignores or skips without a read are answered as before, with nothing recorded.)
                if (_profile is not null && _ingestor.MayWrite(key)) await _profile.EnsureAsync(ct);
                var result = removed
                    // A deleted landing object leaves the tables (guarantee 1: they are a function of the objects that exist).
                    ? await _ingestor.RetractAsync(key, ct)
                    : await _ingestor.IngestAsync(key, ct);
                (outcome.Status, outcome.Reason) = result.Status switch
                {
                    IngestStatus.Retracted => ("retracted", null),
                    IngestStatus.Ingested => ("ingested", result.Manifest!.Status),
                    IngestStatus.AlreadyProcessed => ("already_processed", null),
                    IngestStatus.Ignored => ("ignored", result.Reason),
                    IngestStatus.Skipped => ("skipped", result.Reason),
                    IngestStatus.NotFound => ("not_found", "object not found"),
                    // Recorded (manifest and quarantine record) and acknowledged: retrying cannot make it fit.
                    IngestStatus.TooLarge => ("too_large", "object larger than one invocation ingests; recorded in its manifest and quarantine"),
                    _ => ("failed", result.Reason),
                };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                outcome.Status = "failed"; outcome.Reason = e.Message;
                _log.Error(e is BucketProfileMismatchException ? "lake_profile_mismatch" : "ingest_failed", ("key", key), ("messageId", messageId), ("error", e.GetType().Name), ("message", e.Message));
            }
        }
        return outcomes;
    }
}
