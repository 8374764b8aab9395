using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// <see cref="IPartitionIndex"/> over tables <c>membership</c> (primary key (<c>kind</c>, <c>member</c>, <c>partition</c>);
/// kind <c>customer</c> or <c>serial</c>) and <c>trusted_count</c> (primary key (<c>partition</c>, <c>customer_key</c>),
/// a partial index on <c>customer_key</c> where the count is positive) of a <see cref="SqliteLakeDatabase"/>.
/// </summary>
internal sealed class SqlitePartitionIndex(SqliteLakeDatabase db) : IPartitionIndex
{
    private static readonly SqlStatement InsertMembership = new(
        "INSERT OR IGNORE INTO membership (kind, member, partition) VALUES ($kind, $m, $p)", "$kind", "$m", "$p");

    private static readonly SqlStatement Partitions = new("""
        SELECT DISTINCT partition FROM membership
        WHERE kind = $kind AND member IN (SELECT value FROM json_each($members)) ORDER BY partition
        """, "$kind", "$members");

    private static readonly SqlStatement Counts = new(
        "SELECT customer_key, count FROM trusted_count WHERE partition = $p", "$p");

    private static readonly SqlStatement DeleteCounts = new(
        "DELETE FROM trusted_count WHERE partition = $p", "$p");

    private static readonly SqlStatement InsertCount = new(
        "INSERT INTO trusted_count (partition, customer_key, count) VALUES ($p, $k, $c)", "$p", "$k", "$c");

    private static readonly SqlStatement WithTrusted = new("""
        SELECT DISTINCT customer_key FROM trusted_count
        WHERE count > 0 AND customer_key IN (SELECT value FROM json_each($keys))
        """, "$keys");

    /// <inheritdoc />
    public Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> facts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Count == 0) return Task.CompletedTask;
        return db.WriteAsync(() =>
        {
            var insert = db.Command(InsertMembership);
            var p = insert.Parameters;
            foreach (var fact in facts)
            {
                ct.ThrowIfCancellationRequested();
                p[0].Value = KindName(fact.Kind);
                p[1].Value = fact.Member;
                p[2].Value = fact.Partition;
                insert.ExecuteNonQuery();
            }
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> GetPartitionsAsync(MemberKind kind, IReadOnlyCollection<string> members, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(members);
        var kindName = KindName(kind);
        if (members.Count == 0) return Task.FromResult<IReadOnlyList<string>>([]);
        return db.ReadAsync<IReadOnlyList<string>>(() =>
        {
            var select = db.Command(Partitions);
            select.Parameters[0].Value = kindName;
            select.Parameters[1].Value = db.JsonArray(members);
            using var r = select.ExecuteReader();
            var result = new List<string>();
            while (r.Read()) result.Add(r.GetString(0));
            return result;
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, long>> GetTrustedCountsAsync(string partition, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return db.ReadAsync<IReadOnlyDictionary<string, long>>(() =>
        {
            var select = db.Command(Counts);
            select.Parameters[0].Value = partition;
            using var r = select.ExecuteReader();
            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            while (r.Read()) result[r.GetString(0)] = r.GetInt64(1);
            return result;
        }, ct);
    }

    /// <inheritdoc />
    public Task ReplaceTrustedCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(counts);
        return db.WriteAsync(() =>
        {
            var delete = db.Command(DeleteCounts);
            delete.Parameters[0].Value = partition;
            delete.ExecuteNonQuery();
            var insert = db.Command(InsertCount);
            insert.Parameters[0].Value = partition;
            foreach (var (key, count) in counts)
            {
                ct.ThrowIfCancellationRequested();
                insert.Parameters[1].Value = key;
                insert.Parameters[2].Value = count;
                insert.ExecuteNonQuery();
            }
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(customerKeys);
        if (customerKeys.Count == 0) return Task.FromResult<IReadOnlySet<string>>(new HashSet<string>(StringComparer.Ordinal));
        return db.ReadAsync<IReadOnlySet<string>>(() =>
        {
            var select = db.Command(WithTrusted);
            select.Parameters[0].Value = db.JsonArray(customerKeys);
            using var r = select.ExecuteReader();
            var result = new HashSet<string>(StringComparer.Ordinal);
            while (r.Read()) result.Add(r.GetString(0));
            return result;
        }, ct);
    }

    private static string KindName(MemberKind kind) => kind switch
    {
        MemberKind.Customer => "customer",
        MemberKind.Serial => "serial",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown member kind"),
    };
}
