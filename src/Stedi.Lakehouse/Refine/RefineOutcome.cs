using System.Text.Json;

namespace Stedi.Lakehouse.Refine;

/// <summary>Names of the rules that filter staged rows out of a published table (the reconciliation's vocabulary).</summary>
public static class FilterRules
{
    /// <summary>The customer has not consented to research (or is unknown).</summary>
    public const string NoResearchConsent = "no_research_consent";
    /// <summary>strict: the reading was taken before the customer's consent time.</summary>
    public const string BeforeConsent = "before_consent";
    /// <summary>strict: a newer (or, on a tie, canonically greater) record of the same email wins.</summary>
    public const string SupersededRecord = "superseded_record";
    /// <summary>strict: an exact duplicate of a reading already kept.</summary>
    public const string DuplicateReading = "duplicate_reading";
    /// <summary>The customer has no trusted accelerometer reading (customer_curated).</summary>
    public const string NoAccelerometerData = "no_accelerometer_data";
    /// <summary>The reading's serial belongs to no curated, consenting customer.</summary>
    public const string SerialNotCurated = "serial_not_curated";
    /// <summary>strict: a shared serial whose reading matches no consenting owner's accelerometer reading at the same millisecond.</summary>
    public const string AmbiguousSerial = "ambiguous_serial";
    /// <summary>strict (kept, reported): a shared-serial reading attributed to a consenting owner by a same-millisecond accelerometer reading.</summary>
    public const string AmbiguousSerialAttributed = "ambiguous_serial_attributed";
}

/// <summary>What one landing object's staged rows became in one partition of its first table.</summary>
public sealed class ObjectTally
{
    /// <summary>Staged rows of the object in this partition.</summary>
    public long Staged { get; set; }
    /// <summary>Rows accepted into the table.</summary>
    public long Accepted { get; set; }
    /// <summary>Rows filtered, by rule.</summary>
    public SortedDictionary<string, long> Filtered { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>The outcome of the latest recompute of one partition of one published table.</summary>
public sealed class RefineOutcome
{
    /// <summary>Table name.</summary>
    public required string Table { get; init; }
    /// <summary>Partition value.</summary>
    public required string Partition { get; init; }
    /// <summary>Rows in the partition's Parquet object.</summary>
    public long RowsOut { get; set; }
    /// <summary>SHA-256 of the written object (or <c>empty</c>): an unchanged output enqueues no dependants.</summary>
    public string OutputHash { get; set; } = "empty";
    /// <summary>Input rows filtered, by rule.</summary>
    public SortedDictionary<string, long> Filtered { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Accepted rows worth reporting, e.g. <c>ambiguous_serial_attributed</c>.</summary>
    public SortedDictionary<string, long> Flagged { get; init; } = new(StringComparer.Ordinal);
    /// <summary>accelerometer_trusted only: customer keys with at least one trusted reading in the partition (sorted).</summary>
    public List<string> TrustedCustomers { get; set; } = [];
    /// <summary>First tables only: per landing object id, what its staged rows became.</summary>
    public SortedDictionary<string, ObjectTally> PerObject { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Serialises to compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    public static RefineOutcome FromJson(string json) => JsonSerializer.Deserialize<RefineOutcome>(json)!;

    internal void Filter(string objectId, string rule)
    {
        Filtered[rule] = Filtered.GetValueOrDefault(rule) + 1;
        var t = Tally(objectId);
        t.Filtered[rule] = t.Filtered.GetValueOrDefault(rule) + 1;
    }

    internal void Accept(string objectId) => Tally(objectId).Accepted++;

    internal ObjectTally Tally(string objectId)
    {
        if (!PerObject.TryGetValue(objectId, out var t)) PerObject[objectId] = t = new ObjectTally();
        return t;
    }
}
