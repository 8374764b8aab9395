using Microsoft.Data.Sqlite;
using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// <see cref="ICustomerIndex"/> over table <c>customer_version</c> of a <see cref="SqliteLakeDatabase"/>: one row per
/// version, primary key (<c>customer_key</c>, <c>version_id</c>), a partial index on (<c>serial</c>, <c>customer_key</c>).
/// </summary>
internal sealed class SqliteCustomerIndex(SqliteLakeDatabase db) : ICustomerIndex
{
    private static readonly SqlStatement Insert = new("""
        INSERT OR IGNORE INTO customer_version (customer_key, version_id, serial, last_update_ms, consented, consent_time_ms, canonical)
        VALUES ($k, $v, $s, $u, $c, $t, $j)
        """, "$k", "$v", "$s", "$u", "$c", "$t", "$j");

    private static readonly SqlStatement Delete = new(
        "DELETE FROM customer_version WHERE customer_key = $k AND version_id = $v", "$k", "$v");

    private static readonly SqlStatement ByKeys = new("""
        SELECT customer_key, version_id, serial, last_update_ms, consented, consent_time_ms, canonical FROM customer_version
        WHERE customer_key IN (SELECT value FROM json_each($keys)) ORDER BY customer_key, version_id
        """, "$keys");

    private static readonly SqlStatement BySerials = new("""
        SELECT DISTINCT serial, customer_key FROM customer_version
        WHERE serial IN (SELECT value FROM json_each($serials)) ORDER BY serial, customer_key
        """, "$serials");

    /// <inheritdoc />
    public Task PutVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Count == 0) return Task.CompletedTask;
        // In the primary key's order, sorted before the lock is taken: customer keys are keyed hashes, and inserted in
        // the order the records came they scatter over the whole table (each insert another page read and written).
        var ordered = versions.ToArray();
        Array.Sort(ordered, (a, b) => string.CompareOrdinal(a.CustomerKey, b.CustomerKey) is var c && c != 0 ? c : string.CompareOrdinal(a.VersionId, b.VersionId));
        return db.WriteAsync(() =>
        {
            var insert = db.Command(Insert);
            var p = insert.Parameters;
            foreach (var v in ordered)
            {
                ct.ThrowIfCancellationRequested();
                p[0].Value = v.CustomerKey;
                p[1].Value = v.VersionId;
                p[2].Value = (object?)v.SerialNumber ?? DBNull.Value;
                p[3].Value = (object?)v.LastUpdateDate ?? DBNull.Value;
                p[4].Value = v.Consented ? 1L : 0L;
                p[5].Value = (object?)v.ConsentTime ?? DBNull.Value;
                p[6].Value = v.Canonical;
                insert.ExecuteNonQuery();
            }
        }, ct);
    }

    /// <inheritdoc />
    public Task RemoveVersionsAsync(IReadOnlyCollection<CustomerVersionRef> versions, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Count == 0) return Task.CompletedTask;
        return db.WriteAsync(() =>
        {
            var delete = db.Command(Delete);
            foreach (var v in versions)
            {
                ct.ThrowIfCancellationRequested();
                delete.Parameters[0].Value = v.CustomerKey;
                delete.Parameters[1].Value = v.VersionId;
                delete.ExecuteNonQuery();
            }
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CustomerVersion>> GetVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(customerKeys);
        if (customerKeys.Count == 0) return Task.FromResult<IReadOnlyList<CustomerVersion>>([]);
        return db.ReadAsync<IReadOnlyList<CustomerVersion>>(() =>
        {
            var select = db.Command(ByKeys);
            select.Parameters[0].Value = db.JsonArray(customerKeys);
            using var r = select.ExecuteReader();
            var result = new List<CustomerVersion>();
            while (r.Read())
            {
                result.Add(new CustomerVersion(
                    r.GetString(0), r.GetString(1), NullableString(r, 2), NullableInt64(r, 3),
                    r.GetInt64(4) != 0, NullableInt64(r, 5), r.GetString(6)));
            }
            return result;
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomersBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(serials);
        if (serials.Count == 0) return Task.FromResult<IReadOnlyList<(string, string)>>([]);
        return db.ReadAsync<IReadOnlyList<(string, string)>>(() =>
        {
            var select = db.Command(BySerials);
            select.Parameters[0].Value = db.JsonArray(serials);
            using var r = select.ExecuteReader();
            var result = new List<(string, string)>();
            while (r.Read()) result.Add((r.GetString(0), r.GetString(1)));
            return result;
        }, ct);
    }

    private static string? NullableString(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long? NullableInt64(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
}
