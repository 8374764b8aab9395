using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stedi.Lakehouse.Ingest;

/// <summary>
/// What ingest did with one landing object: stored beside the data (<c>manifests/&lt;source&gt;/&lt;objectId&gt;.json</c>)
/// and in the index's ledger. At ingest, <c>RowsRead = RowsStaged + RowsQuarantined</c>; each staged row is later
/// accepted or filtered (by a named rule) by the refine of its first table, which the reconciliation report adds up.
/// </summary>
public sealed class IngestManifest
{
    /// <summary>Decoded landing key.</summary>
    public required string LandingKey { get; init; }
    /// <summary>Stable id of the key (names staged, quarantine and manifest objects).</summary>
    public required string ObjectId { get; init; }
    /// <summary>Source name.</summary>
    public required string Source { get; init; }
    /// <summary>Version id or eTag ingested (the idempotency key).</summary>
    public required string IdempotencyKey { get; init; }
    /// <summary>Object size in bytes as stored.</summary>
    public long SizeBytes { get; init; }
    /// <summary>Whether the content was gzip (detected from its bytes).</summary>
    public bool Gzip { get; set; }
    /// <summary>Whether the content started with a UTF-8 BOM (stripped).</summary>
    public bool Bom { get; set; }
    /// <summary>Whether the content was one top-level JSON array whose elements were read as records (<c>unwrapped_array</c>; a warning says so too).</summary>
    public bool UnwrappedArray { get; set; }
    /// <summary>Elements of the unwrapped array (objects or not); 0 when the content was not an array.</summary>
    public long ArrayElements { get; set; }
    /// <summary>Whether the unwrapped array ended without its closing bracket (the object was cut short).</summary>
    public bool ArrayNotClosed { get; set; }
    /// <summary><c>complete</c>, <c>partial</c> (some records quarantined), <c>empty</c> (no records) or <c>too_large</c> (nothing read).</summary>
    public string Status { get; set; } = "complete";
    /// <summary>Records read (candidate records; blank lines are not records).</summary>
    public long RowsRead { get; set; }
    /// <summary>Records parsed and staged.</summary>
    public long RowsStaged { get; set; }
    /// <summary>Records quarantined.</summary>
    public long RowsQuarantined { get; set; }
    /// <summary>Quarantined records by reason code.</summary>
    public SortedDictionary<string, long> QuarantinedByReason { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Staged records that needed normalising.</summary>
    public long RowsNormalized { get; set; }
    /// <summary>Normalisations by kind (e.g. <c>timestamp: number as string</c>).</summary>
    public SortedDictionary<string, long> Normalized { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Unknown field names kept in <c>extra_fields</c> (schema drift).</summary>
    public SortedSet<string> SchemaDriftFields { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Partition values the object's records fall in.</summary>
    public SortedSet<string> Partitions { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Staged object keys written.</summary>
    public List<string> StagedKeys { get; init; } = [];
    /// <summary>Quarantine object key, or null when nothing was quarantined.</summary>
    public string? QuarantineKey { get; set; }
    /// <summary>Hex SHA-256 of the object's bytes as stored (recognises the same content under another key).</summary>
    public string ContentHash { get; set; } = "";
    /// <summary>Another landing key that held exactly this content when this one was ingested (a re-sent or copied file), or null.</summary>
    public string? DuplicateOf { get; set; }
    /// <summary>Records whose email (customer) or user (accelerometer) was published trimmed and lower-cased (strict).</summary>
    public long EmailsNormalized { get; set; }
    /// <summary>Warnings, e.g. <c>empty object</c>.</summary>
    public List<string> Warnings { get; init; } = [];

    /// <summary>Serialises to indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ManifestJson.Options);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    /// <exception cref="JsonException">Malformed JSON.</exception>
    public static IngestManifest FromJson(string json) => JsonSerializer.Deserialize<IngestManifest>(json, ManifestJson.Options)!;
}

internal static class ManifestJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

/// <summary>One quarantined record, written as a JSON line to <c>quarantine/&lt;source&gt;/&lt;objectId&gt;.jsonl</c>.</summary>
/// <param name="SourceKey">Decoded landing key.</param>
/// <param name="LineNumber">1-based line where the record starts.</param>
/// <param name="ByteOffset">0-based byte offset of that line (in the decompressed content).</param>
/// <param name="Reason">Reason code.</param>
/// <param name="Detail">Human-readable reason naming the field.</param>
/// <param name="Raw">The record's raw text (at most 4 KiB; invalid UTF-8 replaced).</param>
public sealed record QuarantineRecord(
    [property: JsonPropertyName("source_key")] string SourceKey,
    [property: JsonPropertyName("line_number")] long LineNumber,
    [property: JsonPropertyName("byte_offset")] long ByteOffset,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("raw")] string Raw);
