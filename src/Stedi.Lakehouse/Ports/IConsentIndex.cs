// TRANSITION: replaced by the ports in Stedi.Lakehouse.Index (ICustomerIndex, IPartitionIndex, ILedger, IRefineState,
// LakeIndex); deleted when the engine moves to them.
namespace Stedi.Lakehouse.Ports;

/// <summary>
/// One version of a customer as the consent index holds it. Versions are immutable and keyed by
/// (<see cref="CustomerKey"/>, <see cref="VersionId"/>), so writing them is a commutative set union: the index's
/// state after any order of writes is the same. Which version wins is decided by the domain on read.
/// </summary>
/// <param name="CustomerKey">The profile's join key: trimmed, lower-cased email (strict) or the email as written (rubric).</param>
/// <param name="VersionId">Hex SHA-256 of the record's landing object id, line and full content: each landing record is its
/// own version (the rubric profile counts every record), and a replaced object's records can be retracted.</param>
/// <param name="SerialNumber">Step Trainer serial of this version, or null.</param>
/// <param name="LastUpdateDate">lastUpdateDate in epoch milliseconds, or null.</param>
/// <param name="Consented">Whether this version grants research consent under the profile.</param>
/// <param name="ConsentTime">shareWithResearchAsOfDate in epoch milliseconds when consented with a number, else null.</param>
/// <param name="Canonical">The ten STEDI fields (absent = null) as compact JSON with sorted keys (the tie-break of DESIGN.md §2).</param>
public sealed record CustomerVersion(
    string CustomerKey, string VersionId, string? SerialNumber, long? LastUpdateDate,
    bool Consented, long? ConsentTime, string Canonical);

/// <summary>A fact "partition P of source S holds readings of member M" used to find what a change must recompute.</summary>
/// <param name="Kind"><c>accelerometer</c> (member = customer key) or <c>step_trainer</c> (member = serial number).</param>
/// <param name="Member">Customer key or serial number.</param>
/// <param name="Partition">Partition value (reading hour).</param>
public sealed record PartitionMembership(string Kind, string Member, string Partition);

/// <summary>The idempotency record of one landing object.</summary>
/// <param name="LandingKey">Decoded landing key.</param>
/// <param name="IdempotencyKey">The object's version id, else its eTag: a redelivery with the same value is a no-op.</param>
/// <param name="Source">Landing source name.</param>
/// <param name="StagedKeys">Staged object keys written for this landing object (to clean up on a new version).</param>
/// <param name="ManifestJson">The ingest manifest as JSON (see <c>IngestManifest</c>).</param>
public sealed record LedgerEntry(string LandingKey, string IdempotencyKey, string Source, IReadOnlyList<string> StagedKeys, string ManifestJson);

/// <summary>
/// The consent and partition index (DynamoDB in production, SQLite locally). All reads are strongly consistent.
/// </summary>
public interface IConsentIndex
{
    /// <summary>Adds customer versions (idempotent; an existing version is left as is).</summary>
    Task PutCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default);

    /// <summary>
    /// Retracts versions (by customer key and version id) that a replaced or deleted landing object no longer holds.
    /// Removing a missing version is not an error.
    /// </summary>
    Task RemoveCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default);

    /// <summary>All versions of the given customer keys (unknown keys are absent from the result).</summary>
    Task<IReadOnlyList<CustomerVersion>> GetCustomerVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default);

    /// <summary>Customer keys of which any version carries one of the serials, as (serial, customer key) pairs.</summary>
    Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomerKeysBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default);

    /// <summary>Records partition membership facts (idempotent).</summary>
    Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> items, CancellationToken ct = default);

    /// <summary>Partitions of a kind holding any of the members.</summary>
    Task<IReadOnlyList<string>> GetPartitionsAsync(string kind, IReadOnlyCollection<string> members, CancellationToken ct = default);

    /// <summary>
    /// Replaces the per-customer counts of trusted accelerometer readings in one partition and returns the previous
    /// counts. Only the recompute of that partition calls it, and recomputes of one partition are serialised.
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> ReplaceTrustedReadingCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default);

    /// <summary>The subset of customer keys that have at least one trusted accelerometer reading in any partition.</summary>
    Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default);

    /// <summary>The ledger entry of a landing key, or null.</summary>
    Task<LedgerEntry?> GetLedgerEntryAsync(string landingKey, CancellationToken ct = default);

    /// <summary>Writes (replaces) the ledger entry of a landing key; called only after the ingest's writes committed.</summary>
    Task PutLedgerEntryAsync(LedgerEntry entry, CancellationToken ct = default);

    /// <summary>Deletes the ledger entry of a landing key (its object was deleted); a missing entry is not an error.</summary>
    Task DeleteLedgerEntryAsync(string landingKey, CancellationToken ct = default);

    /// <summary>Every ledger entry.</summary>
    Task<IReadOnlyList<LedgerEntry>> ListLedgerAsync(CancellationToken ct = default);

    /// <summary>Stores the outcome of the latest recompute of a partition (JSON, see <c>RefineOutcome</c>).</summary>
    Task PutRefineOutcomeAsync(string table, string partition, string outcomeJson, CancellationToken ct = default);

    /// <summary>The stored outcome of a partition, or null.</summary>
    Task<string?> GetRefineOutcomeAsync(string table, string partition, CancellationToken ct = default);

    /// <summary>Every stored outcome as (table, partition, JSON).</summary>
    Task<IReadOnlyList<(string Table, string Partition, string OutcomeJson)>> ListRefineOutcomesAsync(CancellationToken ct = default);
}
