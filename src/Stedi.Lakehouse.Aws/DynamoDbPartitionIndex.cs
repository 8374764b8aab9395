using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Stedi.Lakehouse.Index;
using static Stedi.Lakehouse.Aws.DynamoDbTable;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="IPartitionIndex"/> over the index table (string keys <c>pk</c> / <c>sk</c>): one item per membership fact,
/// one item per (partition, customer) trusted count, and a reverse item per (customer, partition) where the count is
/// positive. Every read is strongly consistent.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>pk / sk</term><description>attributes; size</description></listheader>
/// <item><term><c>m#c#&lt;customerKey&gt;</c> or <c>m#s#&lt;serial&gt;</c> / <c>&lt;partition&gt;</c></term><description>keys
/// only: the member has readings in the partition; about 100 bytes.</description></item>
/// <item><term><c>t#&lt;partition&gt;</c> / <c>&lt;customerKey&gt;</c></term><description><c>n</c> N (the count, zero
/// included) and <c>pend</c> BOOL while its reverse item is being changed; about 100 bytes.</description></item>
/// <item><term><c>u#&lt;customerKey&gt;</c> / <c>&lt;partition&gt;</c></term><description>keys only: the customer has a
/// positive count in the partition; about 100 bytes.</description></item>
/// </list>
/// <para>No item grows with the number of hours or customers (DynamoDB's item limit is 400 KB; "Service, account, and
/// table quotas in Amazon DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html):
/// a user with readings in 30,000 hours is 30,000 membership items under one partition key.</para>
/// <para>Requests. <see cref="AddMembershipAsync"/>: BatchWriteItem per 25 facts. <see cref="GetPartitionsAsync"/>: one
/// Query per member, every 1 MB page (about 10,000 hours a page). <see cref="GetTrustedCountsAsync"/>: one Query.
/// <see cref="ReplaceTrustedCountsAsync"/>: one Query for the stored counts; nothing more when they are equal; else
/// BatchWriteItem per 25 changed items in up to three rounds — counts whose reverse item must change are first marked
/// <c>pend</c>, then the reverse items are put or deleted, then the counts are written without the mark (or deleted) —
/// so that a crash at any point leaves marks the next replace of that partition finishes, and never a reverse item
/// that disagrees with an unmarked count. <see cref="GetCustomersWithTrustedReadingsAsync"/>: one Query with
/// <c>Limit = 1</c> per customer, whatever the number of partitions it has readings in. Calls run at most
/// <see cref="DynamoDbTable.MaxParallelCalls"/> at a time.</para>
/// </remarks>
public sealed class DynamoDbPartitionIndex : IPartitionIndex
{
    private readonly DynamoDbTable _table;

    /// <summary>Creates the index over an existing table with a caller-owned client.</summary>
    /// <param name="ddb">DynamoDB client.</param>
    /// <param name="tableName">Table with string hash key <c>pk</c> and string range key <c>sk</c>.</param>
    public DynamoDbPartitionIndex(IAmazonDynamoDB ddb, string tableName) => _table = new DynamoDbTable(ddb, tableName);

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a write.</exception>
    public Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> facts, CancellationToken ct = default) =>
        _table.WriteAsync(facts.Select(f => Put(KeysOnly(MemberPk(f.Kind, f.Member), f.Partition))), ct); // the table drops repeats, window by window

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<string>> GetPartitionsAsync(MemberKind kind, IReadOnlyCollection<string> members, CancellationToken ct = default)
    {
        var pages = await ForEachAsync(members.Distinct().ToList(), (m, token) => _table.QueryAsync(MemberPk(kind, m), [], null, null, token), ct).ConfigureAwait(false);
        return [.. pages.SelectMany(p => p).Select(i => i["sk"].S).Distinct().Order(StringComparer.Ordinal)];
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused the call.</exception>
    public async Task<IReadOnlyDictionary<string, long>> GetTrustedCountsAsync(string partition, CancellationToken ct = default) =>
        (await StoredCountsAsync(partition, ct).ConfigureAwait(false)).ToDictionary(kv => kv.Key, kv => kv.Value.Count, StringComparer.Ordinal);

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task ReplaceTrustedCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default)
    {
        var stored = await StoredCountsAsync(partition, ct).ConfigureAwait(false);
        var mark = new List<WriteRequest>();
        var reverse = new List<WriteRequest>();
        var final = new List<WriteRequest>();
        foreach (var customer in stored.Keys.Union(counts.Keys))
        {
            var had = stored.TryGetValue(customer, out var old);
            var has = counts.TryGetValue(customer, out var count);
            var reverseNeeded = has && count > 0;
            // A marked count's reverse item may be either way: set it again.
            var reverseChanges = had ? old.Pending || (old.Count > 0) != reverseNeeded : reverseNeeded;
            if (reverseChanges)
            {
                if (!(had && old.Pending)) mark.Add(Put(CountItem(partition, customer, had ? old.Count : count, pending: true)));
                reverse.Add(reverseNeeded ? Put(KeysOnly(ReversePk(customer), partition)) : Delete(ReversePk(customer), partition));
            }
            if (!has) final.Add(Delete(CountPk(partition), customer));
            else if (reverseChanges || !had || old.Count != count) final.Add(Put(CountItem(partition, customer, count, pending: false)));
        }
        await _table.WriteAsync(mark, ct).ConfigureAwait(false);
        await _table.WriteAsync(reverse, ct).ConfigureAwait(false);
        await _table.WriteAsync(final, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var keys = customerKeys.Distinct().ToList();
        var any = await ForEachAsync(keys, async (k, token) =>
            (await _table.QueryAsync(ReversePk(k), [], null, 1, token).ConfigureAwait(false)).Count > 0, ct).ConfigureAwait(false);
        return keys.Where((_, i) => any[i]).ToHashSet(StringComparer.Ordinal);
    }

    private async Task<Dictionary<string, (long Count, bool Pending)>> StoredCountsAsync(string partition, CancellationToken ct) =>
        (await _table.QueryAsync(CountPk(partition), null, null, null, ct).ConfigureAwait(false))
            .ToDictionary(i => i["sk"].S, i => (Long(i["n"]), i.TryGetValue("pend", out var p) && p.BOOL == true), StringComparer.Ordinal);

    internal static string MemberPk(MemberKind kind, string member) => kind switch
    {
        MemberKind.Customer => $"m#c#{member}",
        MemberKind.Serial => $"m#s#{member}",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown member kind"),
    };

    internal static string CountPk(string partition) => $"t#{partition}";

    internal static string ReversePk(string customerKey) => $"u#{customerKey}";

    internal static Dictionary<string, AttributeValue> KeysOnly(string pk, string sk) => Key(pk, sk);

    internal static Dictionary<string, AttributeValue> CountItem(string partition, string customerKey, long count, bool pending)
    {
        var item = Key(CountPk(partition), customerKey);
        item["n"] = N(count);
        if (pending) item["pend"] = new AttributeValue { BOOL = true };
        return item;
    }
}
