using System.Text.Json;
using System.Text.Json.Serialization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="IWorkQueue"/> over an SQS FIFO queue (AWSSDK.SQS). Each <see cref="RefreshWork"/> becomes one message
/// with <c>MessageGroupId = </c><see cref="RefreshWork.GroupId"/> (recomputes of one partition are serialised) and a
/// fresh random <c>MessageDeduplicationId</c>: content-based deduplication would drop a refresh sent while the same
/// partition is being recomputed, and the last change would never be recomputed (docs/ARCHITECTURE.md §7, trap a).
/// </summary>
/// <remarks>
/// <para>Body: <c>{"table":"accelerometer_trusted","partition":"2022-06-18-15"}</c> (see <see cref="ParseBody"/>).
/// Sent with SendMessageBatch, 10 entries a call; failed entries that are not the sender's fault are retried with
/// exponential backoff (same deduplication id, so a retry of a send that did land is not a second message).
/// Source: SQS API reference, SendMessageBatch and "Using the message deduplication ID"
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/).</para>
/// <para>Coalescing, when built with an <see cref="IRefineState"/>: <see cref="EnqueueAsync(IReadOnlyCollection{RefreshWork}, string, CancellationToken)"/>
/// marks the items pending (<see cref="IRefineState.MarkPendingAsync"/>, stale after <see cref="StaleAfter"/>) and sends
/// only those it marked; <see cref="StartingAsync"/> clears the mark (<see cref="IRefineState.ClearPendingAsync"/>) so
/// that work marked after a recompute has started is sent again. A mark whose message was never sent (a producer that
/// crashed and never retried) goes stale after <see cref="StaleAfter"/>, and the next producer sends the work.</para>
/// </remarks>
public sealed class SqsWorkQueue : IWorkQueue
{
    /// <summary>Age after which another producer's pending mark no longer holds work back: 15 minutes, the longest a
    /// Lambda invocation runs (a producer that has not sent by then never will).</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(15);

    private const int MaxAttempts = 6;
    private readonly IAmazonSQS _sqs;
    private readonly IRefineState? _pending;

    /// <summary>Creates the queue adapter with a caller-owned client; without <paramref name="pending"/> no work is coalesced.</summary>
    /// <param name="sqs">SQS client.</param>
    /// <param name="queueUrl">URL of the FIFO refresh queue (name ends in <c>.fifo</c>).</param>
    /// <param name="pending">Where the pending marks live (the index's refine state), or null to send every item.</param>
    public SqsWorkQueue(IAmazonSQS sqs, string queueUrl, IRefineState? pending = null)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        ArgumentException.ThrowIfNullOrEmpty(queueUrl);
        _sqs = sqs;
        _pending = pending;
        QueueUrl = queueUrl;
    }

    /// <summary>The refresh queue URL.</summary>
    public string QueueUrl { get; }

    /// <inheritdoc />
    /// <remarks>Every item is sent (no coalescing).</remarks>
    /// <exception cref="AmazonSQSException">An entry failed with a sender fault, or kept failing after retries.</exception>
    public async Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default)
    {
        foreach (var chunk in work.Chunk(10))
        {
            var pending = chunk.Select((w, i) => new SendMessageBatchRequestEntry
            {
                Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                MessageBody = FormatBody(w),
                MessageGroupId = w.GroupId,
                MessageDeduplicationId = Guid.NewGuid().ToString("N"),
            }).ToList();
            for (var attempt = 0; ; attempt++)
            {
                var r = await _sqs.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = QueueUrl, Entries = pending }, ct).ConfigureAwait(false);
                var failed = r.Failed ?? [];
                if (failed.Count == 0) break;
                var fatal = failed.FirstOrDefault(f => f.SenderFault == true);
                if (fatal is not null || attempt + 1 >= MaxAttempts)
                {
                    var f = fatal ?? failed[0];
                    throw new AmazonSQSException($"SendMessageBatch entry failed ({f.Code}): {f.Message}; {failed.Count} of {pending.Count} entries failed");
                }
                var ids = failed.Select(f => f.Id).ToHashSet();
                pending = pending.Where(e => ids.Contains(e.Id)).ToList();
                await Task.Delay(Backoff.Delay(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Marks the distinct items pending, then sends those marked (one message each); without a refine state,
    /// sends every item.</remarks>
    /// <exception cref="AmazonSQSException">An entry failed with a sender fault, or kept failing after retries.</exception>
    public async Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, string producer, CancellationToken ct = default)
    {
        if (_pending is null)
        {
            await EnqueueAsync(work, ct).ConfigureAwait(false);
            return;
        }
        var toSend = await _pending.MarkPendingAsync(work, producer, StaleAfter, ct).ConfigureAwait(false);
        await EnqueueAsync(toSend, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Clears the partition's pending mark; nothing without a refine state.</remarks>
    public Task StartingAsync(RefreshWork work, CancellationToken ct = default) =>
        _pending is null ? Task.CompletedTask : _pending.ClearPendingAsync(work, ct);

    /// <summary>The message body of a work item: <c>{"table":...,"partition":...}</c>.</summary>
    public static string FormatBody(RefreshWork work) =>
        JsonSerializer.Serialize(new RefreshMessage(work.Table, work.Partition), AwsJsonContext.Default.RefreshMessage);

    /// <summary>Parses a message body written by <see cref="FormatBody"/>.</summary>
    /// <exception cref="FormatException">The body is not such a JSON object or lacks a field.</exception>
    public static RefreshWork ParseBody(string body)
    {
        RefreshMessage? m;
        try
        {
            m = JsonSerializer.Deserialize(body, AwsJsonContext.Default.RefreshMessage);
        }
        catch (JsonException e)
        {
            throw new FormatException($"refresh message is not valid JSON: {e.Message}", e);
        }
        if (m is null || string.IsNullOrEmpty(m.Table) || m.Partition is null)
            throw new FormatException("refresh message needs \"table\" and \"partition\"");
        return new RefreshWork(m.Table, m.Partition);
    }
}

/// <summary>Wire shape of a refresh message.</summary>
internal sealed record RefreshMessage(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("partition")] string Partition);

/// <summary>Source-generated JSON metadata for the SQS message body.</summary>
[JsonSerializable(typeof(RefreshMessage))]
internal sealed partial class AwsJsonContext : JsonSerializerContext;
