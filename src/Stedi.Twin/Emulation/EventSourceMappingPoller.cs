using System.Globalization;
using System.Text;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Stedi.Deployment;
using Stedi.Functions;

namespace Stedi.Twin.Emulation;

/// <summary>How an emulated event source mapping polls its queue.</summary>
/// <param name="BatchSize">Messages per invocation (1 to <see cref="Topology.SqsMaxBatchEntries"/>; the stack uses
/// <see cref="Topology.IngestBatchSize"/> for ingest and <see cref="Topology.RefineBatchSize"/> for refine).</param>
/// <param name="VisibilityTimeoutSeconds">Visibility timeout of a received batch while the handler runs (the function's
/// timeout plays this role in Lambda). Long enough that a slow but healthy handler is never redelivered mid-run.</param>
/// <param name="RetryDelaySeconds">How long a failed message stays invisible before it is received again. In AWS this
/// is the queue's visibility timeout (30 min in the stack); the emulation shortens it so redrive after N receives
/// happens in seconds.</param>
/// <param name="WaitTimeSeconds">ReceiveMessage long-poll wait, 0 or 1 s.</param>
public sealed record EventSourceMappingOptions(
    int BatchSize = Topology.SqsMaxBatchEntries, int VisibilityTimeoutSeconds = 120, int RetryDelaySeconds = 1, int WaitTimeSeconds = 0)
{
    /// <summary>Checks the ranges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BatchSize, Topology.SqsMaxBatchEntries);
        ArgumentOutOfRangeException.ThrowIfLessThan(VisibilityTimeoutSeconds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryDelaySeconds, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(WaitTimeSeconds, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(WaitTimeSeconds, 20);
    }
}

/// <summary>What one poll did.</summary>
/// <param name="Received">Messages received (0: the queue had nothing visible).</param>
/// <param name="Deleted">Messages deleted after the handler succeeded for them.</param>
/// <param name="Failed">Messages left on the queue (reported in <c>batchItemFailures</c>, or the whole batch when the
/// handler threw or answered with an unknown item identifier).</param>
/// <param name="Response">The handler's response, or null when it threw.</param>
/// <param name="Error">The handler's exception, when it threw.</param>
public sealed record PollResult(int Received, int Deleted, int Failed, BatchResponse? Response, Exception? Error);

/// <summary>
/// One Lambda SQS event source mapping, emulated: ReceiveMessage (batch size, visibility timeout), the batch wrapped as
/// the Lambda SQS event JSON, the handler invoked, then the partial batch response honoured — messages not listed in
/// <c>batchItemFailures</c> are deleted, listed ones stay on the queue and reappear after the retry delay; the queue's
/// redrive policy (<c>maxReceiveCount</c>) moves a message that keeps failing to its dead-letter queue, exactly as in
/// SQS. A handler exception, or a <c>batchItemFailures</c> entry naming no message of the batch, fails the whole batch
/// (ReportBatchItemFailures semantics).
/// </summary>
/// <remarks>Source: "Using Lambda with Amazon SQS" and "Handling errors for an SQS event source in Lambda"
/// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, .../services-sqs-errorhandling.html).</remarks>
public sealed class EventSourceMappingPoller
{
    private readonly IAmazonSQS _sqs;
    private readonly Func<string, CancellationToken, Task<BatchResponse>> _handler;
    private long _received, _deleted, _failed, _invocations;

    /// <summary>Creates a mapping.</summary>
    /// <param name="name">Display name (e.g. the function it feeds).</param>
    /// <param name="sqs">SQS client.</param>
    /// <param name="queueUrl">The event source queue.</param>
    /// <param name="queueArn">Its ARN (the events' <c>eventSourceARN</c>).</param>
    /// <param name="region">Region of the events' <c>awsRegion</c>.</param>
    /// <param name="handler">The function: SQS event JSON in, partial batch response out.</param>
    /// <param name="options">Batch size and timeouts.</param>
    public EventSourceMappingPoller(string name, IAmazonSQS sqs, string queueUrl, string queueArn, string region,
        Func<string, CancellationToken, Task<BatchResponse>> handler, EventSourceMappingOptions options)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        (Name, _sqs, QueueUrl, QueueArn, Region, _handler, Options) = (name, sqs, queueUrl, queueArn, region, handler, options);
    }

    /// <summary>Display name.</summary>
    public string Name { get; }
    /// <summary>Event source queue URL.</summary>
    public string QueueUrl { get; }
    /// <summary>Event source queue ARN.</summary>
    public string QueueArn { get; }
    /// <summary>Region.</summary>
    public string Region { get; }
    /// <summary>Options.</summary>
    public EventSourceMappingOptions Options { get; }
    /// <summary>Messages received so far (a redelivery counts again).</summary>
    public long Received => Interlocked.Read(ref _received);
    /// <summary>Messages deleted after success.</summary>
    public long Deleted => Interlocked.Read(ref _deleted);
    /// <summary>Message failures (a message failing three times counts three).</summary>
    public long Failed => Interlocked.Read(ref _failed);
    /// <summary>Handler invocations.</summary>
    public long Invocations => Interlocked.Read(ref _invocations);
    /// <summary>Called after every invocation (from the polling task).</summary>
    public Action<EventSourceMappingPoller, PollResult>? Invoked { get; set; }

    /// <summary>Receives one batch and, when there is one, invokes the handler and settles the messages.</summary>
    /// <exception cref="AmazonSQSException">SQS refused a call.</exception>
    public async Task<PollResult> PollOnceAsync(CancellationToken ct = default)
    {
        var r = await _sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = QueueUrl,
            MaxNumberOfMessages = Options.BatchSize,
            VisibilityTimeout = Options.VisibilityTimeoutSeconds,
            WaitTimeSeconds = Options.WaitTimeSeconds,
            MessageSystemAttributeNames = ["All"],
            MessageAttributeNames = ["All"],
        }, ct).ConfigureAwait(false);
        var messages = r.Messages ?? [];
        if (messages.Count == 0) return new PollResult(0, 0, 0, null, null);
        Interlocked.Add(ref _received, messages.Count);
        Interlocked.Increment(ref _invocations);

        BatchResponse? response = null;
        Exception? error = null;
        try { response = await _handler(ToLambdaEvent(messages), ct).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { error = e; }

        var ids = messages.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
        var failedIds = response?.BatchItemFailures.Select(f => f.ItemIdentifier).ToHashSet(StringComparer.Ordinal) ?? [];
        // Lambda treats an empty or unknown identifier as a failure of the whole batch.
        if (error is not null || failedIds.Any(id => !ids.Contains(id))) failedIds = ids;
        var succeeded = messages.Where(m => !failedIds.Contains(m.MessageId)).ToList();
        var failed = messages.Where(m => failedIds.Contains(m.MessageId)).ToList();

        foreach (var chunk in succeeded.Chunk(Topology.SqsMaxBatchEntries))
        {
            var d = await _sqs.DeleteMessageBatchAsync(new DeleteMessageBatchRequest
            {
                QueueUrl = QueueUrl,
                Entries = chunk.Select((m, i) => new DeleteMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), m.ReceiptHandle)).ToList(),
            }, ct).ConfigureAwait(false);
            if (d.Failed is { Count: > 0 } f)
                throw new AmazonSQSException($"DeleteMessageBatch failed for {f.Count} message(s) of {QueueUrl}: {f[0].Code} {f[0].Message}");
        }
        if (failed.Count > 0 && Options.RetryDelaySeconds < Options.VisibilityTimeoutSeconds)
        {
            foreach (var chunk in failed.Chunk(Topology.SqsMaxBatchEntries))
                await _sqs.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest
                {
                    QueueUrl = QueueUrl,
                    Entries = chunk.Select((m, i) => new ChangeMessageVisibilityBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), m.ReceiptHandle)
                    {
                        VisibilityTimeout = Options.RetryDelaySeconds,
                    }).ToList(),
                }, ct).ConfigureAwait(false);
        }
        Interlocked.Add(ref _deleted, succeeded.Count);
        Interlocked.Add(ref _failed, failed.Count);
        var result = new PollResult(messages.Count, succeeded.Count, failed.Count, response, error);
        Invoked?.Invoke(this, result);
        return result;
    }

    /// <summary>Wraps received messages as the event a Lambda function gets from an SQS event source mapping.</summary>
    public string ToLambdaEvent(IReadOnlyList<Message> messages)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("Records");
            foreach (var m in messages)
            {
                w.WriteStartObject();
                w.WriteString("messageId", m.MessageId);
                w.WriteString("receiptHandle", m.ReceiptHandle);
                w.WriteString("body", m.Body);
                w.WriteStartObject("attributes");
                foreach (var (k, v) in (m.Attributes ?? []).OrderBy(a => a.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteStartObject("messageAttributes");
                foreach (var (k, v) in (m.MessageAttributes ?? []).OrderBy(a => a.Key, StringComparer.Ordinal))
                {
                    w.WriteStartObject(k);
                    if (v.StringValue is not null) w.WriteString("stringValue", v.StringValue);
                    w.WriteString("dataType", v.DataType);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteString("md5OfBody", m.MD5OfBody);
                w.WriteString("eventSource", "aws:sqs");
                w.WriteString("eventSourceARN", QueueArn);
                w.WriteString("awsRegion", Region);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
