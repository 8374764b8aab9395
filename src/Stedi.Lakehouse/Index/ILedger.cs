using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Index;

/// <summary>
/// The idempotency record of one landing object: which version was ingested, and where its manifest is. Bounded in
/// size whatever the object held (staged keys and partitions live in the manifest, in the object store).
/// </summary>
/// <param name="LandingKey">Decoded landing key.</param>
/// <param name="IdempotencyKey">The object's version id, else its eTag: a redelivery with the same value is a no-op.</param>
/// <param name="Source">Landing source name.</param>
/// <param name="ContentHash">Hex SHA-256 of the object's bytes as stored (recognises a re-sent file under another key); empty when unknown.</param>
/// <param name="ManifestKey">Object key of the ingest manifest (<c>manifests/&lt;source&gt;/&lt;objectId&gt;.json</c>).</param>
public sealed record LedgerEntry(string LandingKey, string IdempotencyKey, string Source, string ContentHash, string ManifestKey);

/// <summary>Raised when a conditional ledger write finds another version than the one it replaces (a concurrent ingest of the same key).</summary>
public sealed class LedgerConflictException(string landingKey, string? expected, string? found)
    : Exception($"ledger of {landingKey} changed concurrently: expected {expected ?? "no entry"}, found {found ?? "no entry"}")
{
    /// <summary>The landing key.</summary>
    public string LandingKey { get; } = landingKey;
}

/// <summary>The ingest ledger (DynamoDB: one item per landing key plus one per content hash; SQLite locally).</summary>
public interface ILedger
{
    /// <summary>The entry of a landing key, or null (strongly consistent).</summary>
    Task<LedgerEntry?> GetAsync(string landingKey, CancellationToken ct = default);

    /// <summary>
    /// Writes the entry of a landing key, on condition that the stored entry's idempotency key is still
    /// <paramref name="replacing"/> (null: no entry may exist). Also records the entry under its content hash.
    /// </summary>
    /// <exception cref="LedgerConflictException">The stored entry is not the one replaced.</exception>
    Task PutAsync(LedgerEntry entry, string? replacing, CancellationToken ct = default);

    /// <summary>Deletes the entry of a landing key (its object was deleted) and its content-hash record; a missing entry is not an error.</summary>
    Task DeleteAsync(string landingKey, CancellationToken ct = default);

    /// <summary>Landing keys whose ingested content has this hash, ordered.</summary>
    Task<IReadOnlyList<string>> FindByContentAsync(string contentHash, CancellationToken ct = default);

    /// <summary>Every entry, ordered by landing key.</summary>
    Task<IReadOnlyList<LedgerEntry>> ListAsync(CancellationToken ct = default);
}
