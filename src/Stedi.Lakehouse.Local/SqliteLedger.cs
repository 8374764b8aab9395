using Microsoft.Data.Sqlite;
using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// <see cref="ILedger"/> over table <c>ledger</c> of a <see cref="SqliteLakeDatabase"/>: one row per landing key (primary
/// key), a partial index on (<c>content_hash</c>, <c>landing_key</c>) that is the content-hash record (an empty hash,
/// "unknown", is not recorded). The conditional put reads and writes in one <c>BEGIN IMMEDIATE</c> transaction.
/// </summary>
internal sealed class SqliteLedger(SqliteLakeDatabase db) : ILedger
{
    private const string Columns = "landing_key, idempotency_key, source, content_hash, manifest_key";

    private static readonly SqlStatement Get = new($"SELECT {Columns} FROM ledger WHERE landing_key = $k", "$k");

    private static readonly SqlStatement Stored = new("SELECT idempotency_key FROM ledger WHERE landing_key = $k", "$k");

    private static readonly SqlStatement Upsert = new($"""
        INSERT INTO ledger ({Columns}) VALUES ($k, $i, $s, $h, $m)
        ON CONFLICT (landing_key) DO UPDATE SET idempotency_key = excluded.idempotency_key, source = excluded.source,
            content_hash = excluded.content_hash, manifest_key = excluded.manifest_key
        """, "$k", "$i", "$s", "$h", "$m");

    private static readonly SqlStatement Delete = new("DELETE FROM ledger WHERE landing_key = $k", "$k");

    private static readonly SqlStatement ByContent = new(
        "SELECT landing_key FROM ledger WHERE content_hash = $h AND content_hash <> '' ORDER BY landing_key", "$h");

    private static readonly SqlStatement All = new($"SELECT {Columns} FROM ledger ORDER BY landing_key");

    /// <inheritdoc />
    public Task<LedgerEntry?> GetAsync(string landingKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(landingKey);
        return db.ReadAsync(() =>
        {
            var select = db.Command(Get);
            select.Parameters[0].Value = landingKey;
            using var r = select.ExecuteReader();
            return r.Read() ? Read(r) : null;
        }, ct);
    }

    /// <inheritdoc />
    public Task PutAsync(LedgerEntry entry, string? replacing, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return db.WriteAsync(() =>
        {
            var stored = db.Command(Stored);
            stored.Parameters[0].Value = entry.LandingKey;
            var found = stored.ExecuteScalar() as string;
            // Throwing rolls the transaction back: nothing is written on a conflict.
            if (!string.Equals(found, replacing, StringComparison.Ordinal))
                throw new LedgerConflictException(entry.LandingKey, replacing, found);
            var upsert = db.Command(Upsert);
            upsert.Parameters[0].Value = entry.LandingKey;
            upsert.Parameters[1].Value = entry.IdempotencyKey;
            upsert.Parameters[2].Value = entry.Source;
            upsert.Parameters[3].Value = entry.ContentHash;
            upsert.Parameters[4].Value = entry.ManifestKey;
            upsert.ExecuteNonQuery();
        }, ct);
    }

    /// <inheritdoc />
    public Task DeleteAsync(string landingKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(landingKey);
        return db.WriteAsync(() =>
        {
            var delete = db.Command(Delete);
            delete.Parameters[0].Value = landingKey;
            delete.ExecuteNonQuery();
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> FindByContentAsync(string contentHash, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(contentHash);
        if (contentHash.Length == 0) return Task.FromResult<IReadOnlyList<string>>([]);
        return db.ReadAsync<IReadOnlyList<string>>(() =>
        {
            var select = db.Command(ByContent);
            select.Parameters[0].Value = contentHash;
            using var r = select.ExecuteReader();
            var result = new List<string>();
            while (r.Read()) result.Add(r.GetString(0));
            return result;
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<LedgerEntry>> ListAsync(CancellationToken ct = default) =>
        db.ReadAsync<IReadOnlyList<LedgerEntry>>(() =>
        {
            using var r = db.Command(All).ExecuteReader();
            var result = new List<LedgerEntry>();
            while (r.Read()) result.Add(Read(r));
            return result;
        }, ct);

    private static LedgerEntry Read(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4));
}
