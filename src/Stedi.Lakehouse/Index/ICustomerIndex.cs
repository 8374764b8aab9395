using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Index;

/// <summary>
/// One version of a customer as the index holds it: one landing record. Versions are immutable and keyed by
/// (<see cref="CustomerKey"/>, <see cref="VersionId"/>), so writing them is a commutative set union: the index's
/// state after any order of writes is the same. Which version wins is decided by the domain's rules on read.
/// </summary>
/// <param name="CustomerKey">The customer's key in the index: a keyed hash (<see cref="ICustomerKeys"/>) of the profile's join
/// key (trimmed, lower-cased email in strict; the email as written in rubric). Never the email itself.</param>
/// <param name="VersionId">Hex SHA-256 of the record's landing object id, line and full content: each landing record is its
/// own version (the rubric profile counts every record), and a replaced object's records can be retracted.</param>
/// <param name="SerialNumber">Step Trainer serial of this version, or null.</param>
/// <param name="LastUpdateDate">lastUpdateDate in epoch milliseconds, or null.</param>
/// <param name="Consented">Whether this version grants research consent under the profile.</param>
/// <param name="ConsentTime">shareWithResearchAsOfDate in epoch milliseconds when consented with a number, else null.</param>
/// <param name="Canonical">The ten STEDI fields (absent = null) as compact JSON with sorted keys: the strict tie-break (docs/ARCHITECTURE.md §2).
/// Personal data: stored as an attribute, never as a key.</param>
public sealed record CustomerVersion(
    string CustomerKey, string VersionId, string? SerialNumber, long? LastUpdateDate,
    bool Consented, long? ConsentTime, string Canonical);

/// <summary>Names one customer version for retraction.</summary>
/// <param name="CustomerKey">Keyed hash of the customer.</param>
/// <param name="VersionId">Version id.</param>
public readonly record struct CustomerVersionRef(string CustomerKey, string VersionId);

/// <summary>
/// The customer versions of the consent index (DynamoDB: one item per version; SQLite locally). Every read is
/// strongly consistent. Nothing here grows with history inside one record: a customer with 5,000 versions is 5,000 items.
/// </summary>
public interface ICustomerIndex
{
    /// <summary>Adds versions (idempotent: an existing version is left as is).</summary>
    Task PutVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default);

    /// <summary>Retracts versions that a replaced or deleted landing object no longer holds; a missing version is not an error.</summary>
    Task RemoveVersionsAsync(IReadOnlyCollection<CustomerVersionRef> versions, CancellationToken ct = default);

    /// <summary>All versions of the given customer keys, ordered by (key, version id); unknown keys are absent.</summary>
    Task<IReadOnlyList<CustomerVersion>> GetVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default);

    /// <summary>(serial, customer key) pairs of every version carrying one of the serials, distinct, ordered.</summary>
    Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomersBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default);
}

/// <summary>
/// Turns a profile's join key (an email, normalised or as written) into the customer key the index, the logs and
/// every follow-up message carry: a keyed hash (HMAC-SHA-256, hex), so that no email is a key value anywhere.
/// </summary>
public interface ICustomerKeys
{
    /// <summary>The customer key of a join key (lower-case hex, 64 characters). Deterministic for one secret.</summary>
    string KeyOf(string joinKey);
}
