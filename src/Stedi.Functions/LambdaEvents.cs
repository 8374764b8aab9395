using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stedi.Functions;

// Amazon.Lambda.S3Events / SQSEvents are not reachable from this build's package source (docs/ARCHITECTURE.md §9): these are
// the few fields we read, as System.Text.Json source-generated types. Swapping in the official packages later is a
// change to this one file.

/// <summary>An S3 event notification (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).</summary>
public sealed class S3EventNotification
{
    /// <summary>The records; absent on an <c>s3:TestEvent</c>.</summary>
    [JsonPropertyName("Records")] public List<S3EventRecord>? Records { get; set; }
    /// <summary><c>s3:TestEvent</c> on the test message S3 sends when notifications are configured.</summary>
    [JsonPropertyName("Event")] public string? Event { get; set; }
    /// <summary>The bucket of a test event.</summary>
    [JsonPropertyName("Bucket")] public string? Bucket { get; set; }
}

/// <summary>One record of an S3 event notification.</summary>
public sealed class S3EventRecord
{
    /// <summary><c>aws:s3</c>.</summary>
    [JsonPropertyName("eventSource")] public string? EventSource { get; set; }
    /// <summary>Event name without the <c>s3:</c> prefix, e.g. <c>ObjectCreated:Put</c>.</summary>
    [JsonPropertyName("eventName")] public string? EventName { get; set; }
    /// <summary>The S3 entity.</summary>
    [JsonPropertyName("s3")] public S3Entity? S3 { get; set; }
    /// <summary>Response elements (holds <c>x-amz-request-id</c>).</summary>
    [JsonPropertyName("responseElements")] public Dictionary<string, string>? ResponseElements { get; set; }
}

/// <summary>The bucket and object of a record.</summary>
public sealed class S3Entity
{
    /// <summary>The bucket.</summary>
    [JsonPropertyName("bucket")] public S3BucketEntity? Bucket { get; set; }
    /// <summary>The object.</summary>
    [JsonPropertyName("object")] public S3ObjectEntity? Object { get; set; }
}

/// <summary>The bucket of a record.</summary>
public sealed class S3BucketEntity
{
    /// <summary>Bucket name.</summary>
    [JsonPropertyName("name")] public string? Name { get; set; }
}

/// <summary>The object of a record.</summary>
public sealed class S3ObjectEntity
{
    /// <summary>The key, URL-encoded as S3 sends it (form encoding: '+' is a space).</summary>
    [JsonPropertyName("key")] public string? Key { get; set; }
    /// <summary>Size in bytes.</summary>
    [JsonPropertyName("size")] public long? Size { get; set; }
    /// <summary>eTag.</summary>
    [JsonPropertyName("eTag")] public string? ETag { get; set; }
    /// <summary>Version id on a versioned bucket.</summary>
    [JsonPropertyName("versionId")] public string? VersionId { get; set; }
    /// <summary>Sequencer (orders events of one key).</summary>
    [JsonPropertyName("sequencer")] public string? Sequencer { get; set; }

    /// <summary>
    /// The key decoded exactly once: '+' becomes a space, then %XX sequences are UTF-8 decoded, so <c>%2B</c> is a
    /// plus and <c>a+b%2Bc</c> is <c>a b+c</c> (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
    /// </summary>
    [JsonIgnore] public string? KeyDecoded => Key is null ? null : DecodeKey(Key);

    /// <summary>Decodes an S3 event key (see <see cref="KeyDecoded"/>).</summary>
    public static string DecodeKey(string key) => Uri.UnescapeDataString(key.Replace('+', ' '));

    /// <summary>Encodes a key as S3 event notifications carry it (the inverse of <see cref="DecodeKey"/>): UTF-8 %XX, '/' kept, space as '+'.</summary>
    public static string EncodeKey(string key) => Uri.EscapeDataString(key).Replace("%2F", "/").Replace("%20", "+");
}

/// <summary>Builds S3 event notifications for local replays (<c>stedi run</c>, <c>watch</c>, the benchmark).</summary>
public static class S3EventBuilder
{
    /// <summary>
    /// One-record S3 event notification JSON for <paramref name="key"/> in <paramref name="bucket"/>, the key encoded as
    /// S3 sends it. <paramref name="eventName"/> is without the <c>s3:</c> prefix, e.g. <c>ObjectCreated:Put</c>.
    /// </summary>
    public static string Notification(string bucket, string key, long size, string eTag, string eventName = "ObjectCreated:Put")
    {
        var record = new
        {
            eventVersion = "2.1", eventSource = "aws:s3", awsRegion = "local", eventTime = DateTime.UtcNow.ToString("O"),
            eventName,
            s3 = new
            {
                s3SchemaVersion = "1.0",
                bucket = new { name = bucket, arn = $"arn:aws:s3:::{bucket}" },
                @object = new { key = S3ObjectEntity.EncodeKey(key), size, eTag, sequencer = "0" },
            },
        };
        return JsonSerializer.Serialize(new { Records = new[] { record } });
    }
}

/// <summary>An SQS event as delivered by a Lambda event source mapping.</summary>
public sealed class SqsEvent
{
    /// <summary>The messages.</summary>
    [JsonPropertyName("Records")] public List<SqsMessage>? Records { get; set; }
}

/// <summary>One SQS message of an event.</summary>
public sealed class SqsMessage
{
    /// <summary>Message id (the batch item failure identifier).</summary>
    [JsonPropertyName("messageId")] public string? MessageId { get; set; }
    /// <summary>Body.</summary>
    [JsonPropertyName("body")] public string? Body { get; set; }
    /// <summary><c>aws:sqs</c>.</summary>
    [JsonPropertyName("eventSource")] public string? EventSource { get; set; }
    /// <summary>Attributes (ApproximateReceiveCount, MessageGroupId...).</summary>
    [JsonPropertyName("attributes")] public Dictionary<string, string>? Attributes { get; set; }
}

/// <summary>A partial batch response (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).</summary>
public sealed class BatchResponse
{
    /// <summary>Messages that failed and must be retried.</summary>
    [JsonPropertyName("batchItemFailures")] public List<BatchItemFailure> BatchItemFailures { get; set; } = [];
    /// <summary>Per-record outcomes (not read by Lambda; for logs, <c>stedi invoke</c> and tests).</summary>
    [JsonPropertyName("outcomes")] public List<RecordOutcome> Outcomes { get; set; } = [];
}

/// <summary>One failed message.</summary>
public sealed class BatchItemFailure
{
    /// <summary>The message id.</summary>
    [JsonPropertyName("itemIdentifier")] public string ItemIdentifier { get; set; } = "";
}

/// <summary>What happened to one record (an S3 object or a refresh message).</summary>
public sealed class RecordOutcome
{
    /// <summary>Decoded key, or <c>table/partition</c> for refresh work.</summary>
    [JsonPropertyName("key")] public string Key { get; set; } = "";
    /// <summary>ingested, already_processed, ignored, not_found, too_large, test_event, refined, failed.</summary>
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    /// <summary>Reason code or error message, when any.</summary>
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    /// <summary>SQS message id, when the record came in an SQS message.</summary>
    [JsonPropertyName("messageId")] public string? MessageId { get; set; }
}

/// <summary>Source-generated serializers of the event types.</summary>
[JsonSerializable(typeof(S3EventNotification))]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class LambdaJsonContext : JsonSerializerContext;

/// <summary>Recognises what an invocation payload is.</summary>
public static class EventShape
{
    /// <summary>Whether a JSON document is an SQS event (its records come from <c>aws:sqs</c>).</summary>
    public static bool IsSqs(JsonElement root) =>
        root.TryGetProperty("Records", out var r) && r.ValueKind == JsonValueKind.Array && r.GetArrayLength() > 0
        && r[0].TryGetProperty("eventSource", out var s) && s.GetString() == "aws:sqs";

    /// <summary>Which function an event is for: <c>refine</c> when its SQS bodies are refresh messages, else <c>ingest</c>.</summary>
    /// <exception cref="JsonException">The event is not JSON.</exception>
    public static string InferFunction(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (!IsSqs(doc.RootElement)) return "ingest";
        foreach (var r in doc.RootElement.GetProperty("Records").EnumerateArray())
        {
            if (!r.TryGetProperty("body", out var b) || b.ValueKind != JsonValueKind.String) continue;
            try
            {
                Stedi.Lakehouse.Aws.SqsWorkQueue.ParseBody(b.GetString()!);
                return "refine";
            }
            catch (FormatException) { }
        }
        return "ingest";
    }
}

/// <summary>The raw Stream contract of the managed runtime: read the payload, handle it, write the response JSON.</summary>
internal static class LambdaStreams
{
    public static async Task<Stream> HandleAsync(Stream input, Func<string, Task<BatchResponse>> handle)
    {
        using var reader = new StreamReader(input);
        var response = await handle(await reader.ReadToEndAsync());
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, response, LambdaJsonContext.Default.BatchResponse);
        output.Position = 0;
        return output;
    }
}
