using Stedi.Lakehouse.Refine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stedi.Cli.Report;

/// <summary>
/// Everything <c>stedi report</c> shows, as data: the per-object reconciliation, the flow of rows per source, and rows
/// per table and partition. The HTML page embeds it as JSON (snake_case) and draws itself from it, so tests can read
/// the numbers back from the page.
/// </summary>
internal sealed class ReportModel
{
    /// <summary>Absolute lake folder.</summary>
    public required string Lake { get; init; }
    /// <summary>The profile the lake records, or null for a lake made before lakes recorded it.</summary>
    public string? Profile { get; init; }
    /// <summary>The lake's layout version, or null.</summary>
    public int? SchemaVersion { get; init; }
    /// <summary>When the report was made (ISO 8601 UTC).</summary>
    public required string GeneratedAt { get; init; }
    /// <summary>The stedi version that made it.</summary>
    public required string StediVersion { get; init; }
    /// <summary>Whether every object balances.</summary>
    public bool Balanced => Objects.All(o => o.Balanced);
    /// <summary>Sums over every object.</summary>
    public required Totals Totals { get; init; }
    /// <summary>Per landing object, in key order.</summary>
    public required IReadOnlyList<ObjectRow> Objects { get; init; }
    /// <summary>The objects that do not balance.</summary>
    public IReadOnlyList<ObjectRow> Unbalanced => Objects.Where(o => !o.Balanced).ToList();
    /// <summary>Per landing source, in pipeline order (customer, accelerometer, step_trainer).</summary>
    public required IReadOnlyList<SourceFlow> Sources { get; init; }
    /// <summary>Per published table, in pipeline order.</summary>
    public required IReadOnlyList<TableRows> Tables { get; init; }
    /// <summary>
    /// Refresh work the lake's queue journal still holds (queued, running or dirty: an interrupted run or watch). While
    /// any is left, some table is behind its inputs, whatever the objects' balance says (a curated table's work counts
    /// no landing rows).
    /// </summary>
    public IReadOnlyList<PendingRefresh> PendingWork { get; init; } = [];
    /// <summary>Every object balances and no refresh work is left: the tables are a function of the landing objects.</summary>
    public bool Complete => Balanced && PendingWork.Count == 0;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    /// <summary>The model as JSON (snake_case; default escaping, so it can sit inside a script element).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Reads <see cref="ToJson"/>'s output back (tests).</summary>
    public static JsonDocument Parse(string json) => JsonDocument.Parse(json);
}

/// <summary>One refresh group the work journal holds: a (table, partition) and its state (Queued, Running, Dirty).</summary>
internal sealed record PendingRefresh(string Table, string Partition, string State);

/// <summary>Sums over every landing object (skipped ones included: they count as objects, with zero rows).</summary>
internal sealed record Totals(int Objects, long RowsRead, long Accepted, long Filtered, long Quarantined, long Unaccounted, int UnbalancedObjects, int Skipped = 0);

/// <summary>
/// One landing object's reconciliation: <c>rows_read = accepted + Σ filtered + quarantined + unaccounted</c>; an object
/// skipped for its name has status <c>skipped</c>, its reason and zero rows; a re-sent copy names its original.
/// </summary>
internal sealed record ObjectRow(
    string LandingKey, string Source, string Status, long RowsRead, long Accepted,
    IReadOnlyDictionary<string, long> Filtered, long Quarantined, IReadOnlyDictionary<string, long> QuarantinedByReason,
    long Unaccounted, bool Balanced, string? DuplicateOf = null, string? SkippedReason = null)
{
    /// <summary>Rows filtered by any rule.</summary>
    public long FilteredTotal => Filtered.Values.Sum();

    /// <summary>What the table shows beside the numbers: <c>skipped: unsupported object name</c>, <c>duplicate of &lt;key&gt;</c>, or empty.</summary>
    public string Note => SkippedReason is null ? DuplicateOf is not null ? $"duplicate of {DuplicateOf}" : ""
        : Status == ObjectReconciliation.SkippedStatus ? $"skipped: {SkippedReason}" : SkippedReason;
}

/// <summary>Where one source's rows went: read → accepted into its first table / filtered by each rule / quarantined by each reason.</summary>
internal sealed record SourceFlow(
    string Source, string FirstTable, int Objects, long RowsRead, long Accepted,
    IReadOnlyDictionary<string, long> Filtered, long Quarantined, IReadOnlyDictionary<string, long> QuarantinedByReason, long Unaccounted);

/// <summary>Rows of one published table, in all and per partition.</summary>
internal sealed record TableRows(string Table, string PartitionKey, long Rows, IReadOnlyList<PartitionRows> Partitions)
{
    /// <summary>Whether the partitions are reading hours (<c>yyyy-MM-dd-HH</c>), which the page charts over time.</summary>
    public bool Hourly => PartitionKey == Stedi.Lakehouse.Schema.Tables.ReadingHour;
}

/// <summary>Rows of one partition.</summary>
internal sealed record PartitionRows(string Partition, long Rows);
