using System.Text.Json;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Engine;

namespace Stedi.Functions;

/// <summary>
/// Refine function: consumes the FIFO refresh queue (one message = one partition of one table) and recomputes each
/// partition. On a failure, that message and every later one in the batch are reported as batch item failures, so the
/// FIFO order of each message group is kept (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
/// Handler: <c>Stedi.Functions::Stedi.Functions.RefineFunction::HandleAsync</c>.
/// </summary>
public sealed class RefineFunction
{
    private readonly Refiner _refiner;
    private readonly ILakeLog _log;
    private readonly LakeBucketProfile? _profile;

    /// <summary>Used by the Lambda runtime: builds the AWS adapters from the environment (<see cref="FunctionEnvironment"/>).</summary>
    /// <exception cref="InvalidOperationException">The environment is incomplete (the message names what is missing).</exception>
    public RefineFunction() : this(FunctionEnvironment.FromEnvironment()) { }

    private RefineFunction(FunctionEnvironment env) : this(CreateRefiner(env, out var log, out var profile), log, profile) { }

    private static Refiner CreateRefiner(FunctionEnvironment env, out ILakeLog log, out LakeBucketProfile profile)
    {
        var lake = AwsLake.Create(env.Lake);
        log = new JsonLinesLakeLog(Console.Out);
        profile = env.ProfileCheck(lake.S3);
        return new Refiner(lake.ObjectStore, lake.Index, lake.WorkQueue, env.Options, log);
    }

    /// <summary>For tests and local runs: any adapters.</summary>
    /// <param name="refiner">The domain refine over the chosen adapters.</param>
    /// <param name="log">Structured log.</param>
    /// <param name="profile">The lake bucket's profile check (deployments: every invocation refuses to write to a bucket
    /// built with another profile), or null when the caller checked the lake's profile itself (a local lake's <c>lake.json</c>).</param>
    public RefineFunction(Refiner refiner, ILakeLog log, LakeBucketProfile? profile = null) => (_refiner, _log, _profile) = (refiner, log, profile);

    /// <summary>Lambda entry point (raw Stream contract): an SQS event in; a <see cref="BatchResponse"/> out.</summary>
    public Task<Stream> HandleAsync(Stream input) => LambdaStreams.HandleAsync(input, json => HandleEventAsync(json));

    /// <summary>
    /// Handles one SQS event document: ONE recompute per (table, partition) whatever the batch holds — every message
    /// of the batch was sent before the batch was received, so before that recompute starts, and it sees their state.
    /// On a failure, that group's messages and every later one are reported as batch item failures, so the FIFO
    /// order of each message group is kept (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
    /// </summary>
    /// <exception cref="JsonException">The payload is not JSON.</exception>
    public async Task<BatchResponse> HandleEventAsync(string json, CancellationToken ct = default)
    {
        var sqs = JsonSerializer.Deserialize(json, LambdaJsonContext.Default.SqsEvent) ?? new SqsEvent();
        var response = new BatchResponse();
        var done = new Dictionary<string, RecordOutcome>(StringComparer.Ordinal);
        var failing = false;
        foreach (var m in sqs.Records ?? [])
        {
            var outcome = new RecordOutcome { MessageId = m.MessageId };
            response.Outcomes.Add(outcome);
            if (failing)
            {
                outcome.Status = "failed"; outcome.Reason = "not attempted after an earlier failure in the batch (FIFO order)";
                response.BatchItemFailures.Add(new BatchItemFailure { ItemIdentifier = m.MessageId ?? "" });
                continue;
            }
            try
            {
                var work = SqsWorkQueue.ParseBody(m.Body ?? "");
                outcome.Key = work.GroupId;
                if (done.TryGetValue(work.GroupId, out var first))
                {
                    outcome.Status = "coalesced"; outcome.Reason = $"recomputed once for the batch ({first.Reason})";
                    continue;
                }
                // Before anything is read or written: a function whose STEDI_PROFILE is not the bucket's refines nothing.
                if (_profile is not null) await _profile.EnsureAsync(ct);
                var result = await _refiner.RefineAsync(work, ct);
                outcome.Status = "refined"; outcome.Reason = $"{result.RowsOut} rows";
                done[work.GroupId] = outcome;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failing = true;
                outcome.Status = "failed"; outcome.Reason = e.Message;
                response.BatchItemFailures.Add(new BatchItemFailure { ItemIdentifier = m.MessageId ?? "" });
                _log.Error(e is BucketProfileMismatchException ? "lake_profile_mismatch" : "refine_failed", ("messageId", m.MessageId), ("work", outcome.Key), ("error", e.GetType().Name), ("message", e.Message));
            }
        }
        return response;
    }
}
