using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Stedi.Lakehouse.Index;
using static Stedi.Lakehouse.Aws.DynamoDbTable;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="ICustomerIndex"/> over the index table (string keys <c>pk</c> / <c>sk</c>): one item per customer version
/// and one serial look-up item per (serial, customer, version). Every read is strongly consistent.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>pk / sk</term><description>attributes; size</description></listheader>
/// <item><term><c>c#&lt;customerKey&gt;</c> / <c>v#&lt;versionId&gt;</c></term><description><c>canon</c> S (canonical JSON),
/// <c>cons</c> BOOL, and when present <c>serial</c> S, <c>lud</c> N, <c>ct</c> N; about 200 bytes plus the canonical
/// JSON.</description></item>
/// <item><term><c>s#&lt;serial&gt;</c> / <c>&lt;customerKey&gt;#&lt;versionId&gt;</c></term><description>keys only; about 170
/// bytes with hash-sized keys.</description></item>
/// </list>
/// <para>No item grows with the number of versions: a customer with 5,000 versions is 5,000 items under one partition
/// key (DynamoDB's item limit is 400 KB, attribute names and values counted; "Service, account, and table quotas in
/// Amazon DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). The one
/// bound left is a single version's canonical JSON, which must stay under about 399 KB (DynamoDB rejects the batch
/// with a ValidationException otherwise). Customer keys are keyed hashes (<see cref="ICustomerKeys"/>), never emails,
/// and must not contain <c>#</c>; serials and version ids are stored as given.</para>
/// <para>Requests. <see cref="PutVersionsAsync"/>: one consistent BatchGetItem per 100 keys (the versions, and the
/// look-ups of those with a serial) so that an existing version is left as it is, then BatchWriteItem per 25 new items
/// — version items first, their serial look-ups after, so that a look-up never outlives a crash without its version
/// (a retry restores a missing look-up). <see cref="RemoveVersionsAsync"/>: BatchGetItem per 100 (to learn the
/// serials), BatchWriteItem deletes of the look-ups, then of the versions. <see cref="GetVersionsAsync"/>: one Query per
/// customer, every 1 MB page. <see cref="GetCustomersBySerialAsync"/>: per serial, a Query of up to 100 keys, and one
/// more per 100 distinct customers (the next starts after the last customer's versions), so a customer with thousands
/// of versions of one serial costs two calls. Calls run at most <see cref="DynamoDbTable.MaxParallelCalls"/> at a time.</para>
/// </remarks>
public sealed class DynamoDbCustomerIndex : ICustomerIndex
{
    private const int SerialPage = 100;
    private readonly DynamoDbTable _table;

    /// <summary>Creates the index over an existing table with a caller-owned client.</summary>
    /// <param name="ddb">DynamoDB client.</param>
    /// <param name="tableName">Table with string hash key <c>pk</c> and string range key <c>sk</c>.</param>
    public DynamoDbCustomerIndex(IAmazonDynamoDB ddb, string tableName) => _table = new DynamoDbTable(ddb, tableName);

    /// <inheritdoc />
    /// <remarks>The first occurrence of a version in <paramref name="versions"/> is the one written.</remarks>
    /// <exception cref="ArgumentException">A customer key is empty or contains <c>#</c>, or a version id is empty.</exception>
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a write (e.g. a canonical form near 400 KB).</exception>
    public async Task PutVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default)
    {
        var unique = versions.DistinctBy(v => (v.CustomerKey, v.VersionId)).ToList();
        foreach (var v in unique) Check(v.CustomerKey, v.VersionId);
        var stored = await _table.GetManyAsync(unique.SelectMany(v => v.SerialNumber is { } s
            ? new[] { VersionKey(v.CustomerKey, v.VersionId), SerialKey(s, v.CustomerKey, v.VersionId) }
            : [VersionKey(v.CustomerKey, v.VersionId)]), ct).ConfigureAwait(false);

        var versionWrites = new List<WriteRequest>();
        var serialWrites = new List<WriteRequest>();
        foreach (var v in unique)
        {
            // An existing version is left as it is; only its look-up is restored when a crash lost it.
            var serial = stored.TryGetValue(VersionKey(v.CustomerKey, v.VersionId), out var item) ? OptionalS(item, "serial") : v.SerialNumber;
            if (item is null) versionWrites.Add(Put(VersionItem(v)));
            if (serial is not null && !(serial == v.SerialNumber && stored.ContainsKey(SerialKey(serial, v.CustomerKey, v.VersionId))))
            {
                var (pk, sk) = SerialKey(serial, v.CustomerKey, v.VersionId);
                serialWrites.Add(Put(new() { ["pk"] = S(pk), ["sk"] = S(sk) }));
            }
        }
        await _table.WriteAsync(versionWrites, ct).ConfigureAwait(false);
        await _table.WriteAsync(serialWrites, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task RemoveVersionsAsync(IReadOnlyCollection<CustomerVersionRef> versions, CancellationToken ct = default)
    {
        var keys = versions.Distinct().Select(v => VersionKey(v.CustomerKey, v.VersionId)).ToList();
        var stored = await _table.GetManyAsync(keys, ct).ConfigureAwait(false);
        await _table.WriteAsync(stored.Values.Where(i => i.ContainsKey("serial")).Select(i =>
        {
            var (pk, sk) = SerialKey(i["serial"].S, i["pk"].S[2..], i["sk"].S[2..]);
            return Delete(pk, sk);
        }), ct).ConfigureAwait(false);
        await _table.WriteAsync(stored.Keys.Select(k => Delete(k.Pk, k.Sk)), ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<CustomerVersion>> GetVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var keys = customerKeys.Distinct().ToList();
        var pages = await ForEachAsync(keys, (k, token) => _table.QueryAsync($"c#{k}", null, null, null, token), ct).ConfigureAwait(false);
        return [.. pages.SelectMany(p => p).Select(ToVersion)
            .OrderBy(v => v.CustomerKey, StringComparer.Ordinal).ThenBy(v => v.VersionId, StringComparer.Ordinal)];
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomersBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default)
    {
        var distinct = serials.Distinct().ToList();
        var customers = await ForEachAsync(distinct, async (serial, token) =>
        {
            var found = new List<string>();
            for (string? after = null; ;)
            {
                var page = await _table.QueryAsync($"s#{serial}", [], after, SerialPage, token).ConfigureAwait(false);
                foreach (var item in page)
                {
                    var sk = item["sk"].S;
                    var key = sk[..sk.IndexOf('#', StringComparison.Ordinal)];
                    if (found.Count == 0 || found[^1] != key) found.Add(key);
                }
                if (page.Count < SerialPage) return found;
                after = found[^1] + "$"; // '$' follows '#': past every look-up of that customer
            }
        }, ct).ConfigureAwait(false);
        return [.. distinct.SelectMany((s, i) => customers[i].Distinct().Select(k => (s, k)))
            .OrderBy(p => p.s, StringComparer.Ordinal).ThenBy(p => p.k, StringComparer.Ordinal)];
    }

    private static void Check(string customerKey, string versionId)
    {
        if (string.IsNullOrEmpty(customerKey) || customerKey.Contains('#', StringComparison.Ordinal))
            throw new ArgumentException($"a customer key must be non-empty and without '#': {customerKey}", nameof(customerKey));
        ArgumentException.ThrowIfNullOrEmpty(versionId);
    }

    internal static (string Pk, string Sk) VersionKey(string customerKey, string versionId) => ($"c#{customerKey}", $"v#{versionId}");

    internal static (string Pk, string Sk) SerialKey(string serial, string customerKey, string versionId) => ($"s#{serial}", $"{customerKey}#{versionId}");

    internal static Dictionary<string, AttributeValue> VersionItem(CustomerVersion v)
    {
        var (pk, sk) = VersionKey(v.CustomerKey, v.VersionId);
        var item = new Dictionary<string, AttributeValue>
        {
            ["pk"] = S(pk), ["sk"] = S(sk), ["canon"] = S(v.Canonical), ["cons"] = new() { BOOL = v.Consented },
        };
        if (v.SerialNumber is not null) item["serial"] = S(v.SerialNumber);
        if (v.LastUpdateDate is { } lud) item["lud"] = N(lud);
        if (v.ConsentTime is { } consentTime) item["ct"] = N(consentTime);
        return item;
    }

    private static CustomerVersion ToVersion(Dictionary<string, AttributeValue> i) => new(
        i["pk"].S[2..], i["sk"].S[2..], OptionalS(i, "serial"), OptionalLong(i, "lud"),
        i["cons"].BOOL == true, OptionalLong(i, "ct"), i["canon"].S);
}
