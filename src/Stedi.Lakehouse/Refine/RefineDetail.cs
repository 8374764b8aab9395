using System.Text.Json;
using System.Text.Json.Serialization;

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
    /// <summary>Rows accepted into the table.</summary>
    public long Accepted { get; set; }
    /// <summary>Rows filtered, by rule.</summary>
    public SortedDictionary<string, long> Filtered { get; init; } = new(StringComparer.Ordinal);

    // Counted per row while a recompute runs (a hash look-up), moved into Filtered when the detail is serialised.
    internal Dictionary<string, long>? Counting;

    internal void Seal()
    {
        if (Counting is null) return;
        foreach (var (rule, n) in Counting) Filtered[rule] = Filtered.GetValueOrDefault(rule) + n;
        Counting = null;
    }
}

/// <summary>
/// The detail of one recompute of one partition, stored in the object store
/// (<see cref="LakeKeys.RefineDetail"/>) and named by the partition's outcome in the index: rows filtered per rule,
/// rows flagged, per landing object what its staged rows became (first tables), and for accelerometer_trusted the
/// customers holding trusted readings in the partition (what a later recompute compares against to find flips).
/// Its size grows with the partition's objects and customers, which is why it is not an index item.
/// </summary>
public sealed class RefineDetail
{
    /// <summary>Table name.</summary>
    public required string Table { get; init; }
    /// <summary>Partition value.</summary>
    public required string Partition { get; init; }
    /// <summary>Rows written.</summary>
    public long RowsOut { get; set; }
    /// <summary>Input rows filtered, by rule.</summary>
    public SortedDictionary<string, long> Filtered { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Accepted rows worth reporting, e.g. <c>ambiguous_serial_attributed</c>.</summary>
    public SortedDictionary<string, long> Flagged { get; init; } = new(StringComparer.Ordinal);
    /// <summary>First tables: per landing object id, what its staged rows became.</summary>
    public SortedDictionary<string, ObjectTally> PerObject { get; init; } = new(StringComparer.Ordinal);
    /// <summary>accelerometer_trusted: customer key → customer bucket of every customer with a trusted reading in the partition.</summary>
    public SortedDictionary<string, string> TrustedCustomers { get; init; } = new(StringComparer.Ordinal);

    // Tallies by object id and rule while a recompute runs (hash look-ups per row), moved into the sorted maps when serialised.
    private readonly Dictionary<string, ObjectTally> _tallies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _filtered = new(StringComparer.Ordinal);

    /// <summary>Serialises to compact JSON.</summary>
    public string ToJson()
    {
        foreach (var (id, t) in _tallies) { t.Seal(); PerObject[id] = t; }
        _tallies.Clear();
        foreach (var (rule, n) in _filtered) Filtered[rule] = Filtered.GetValueOrDefault(rule) + n;
        _filtered.Clear();
        return JsonSerializer.Serialize(this, DetailJson.Options);
    }

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    /// <exception cref="JsonException">Malformed JSON.</exception>
    public static RefineDetail FromJson(string json) => JsonSerializer.Deserialize<RefineDetail>(json, DetailJson.Options)!;

    internal void Filter(string? objectId, string rule, long n = 1)
    {
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_filtered, rule, out _) += n;
        if (objectId is null) return;
        var t = Tally(objectId);
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(t.Counting ??= new(StringComparer.Ordinal), rule, out _) += n;
    }

    internal void Accept(string? objectId)
    {
        if (objectId is not null) Tally(objectId).Accepted++;
    }

    internal void Flag(string rule) => Flagged[rule] = Flagged.GetValueOrDefault(rule) + 1;

    private ObjectTally Tally(string objectId)
    {
        if (!_tallies.TryGetValue(objectId, out var t)) _tallies[objectId] = t = new ObjectTally();
        return t;
    }
}

internal static class DetailJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
