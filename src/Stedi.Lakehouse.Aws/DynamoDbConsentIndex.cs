using System.Globalization;
using System.IO.Compression;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="IConsentIndex"/> over one DynamoDB table with string keys <c>pk</c> (partition) and <c>sk</c> (sort),
/// as the CDK stack creates it (on-demand). Every read is strongly consistent (<c>ConsistentRead = true</c>,
/// DESIGN.md §4 trap b).
/// </summary>
/// <remarks>
/// <para>Item layout (every item also carries <c>type</c>, used by the two Scans):</para>
/// <list type="table">
/// <listheader><term>pk / sk</term><description>what and attributes</description></listheader>
/// <item><term><c>cust#&lt;customerKey&gt;</c> / <c>v#&lt;versionId&gt;</c></term><description>one customer version (type <c>cust</c>):
/// <c>serial</c> S?, <c>lud</c> N?, <c>consented</c> BOOL, <c>ct</c> N?, <c>canon</c> S.</description></item>
/// <item><term><c>serial#&lt;serial&gt;</c> / <c>&lt;customerKey&gt;</c></term><description>serial lookup (type <c>serial</c>).</description></item>
/// <item><term><c>member#&lt;kind&gt;#&lt;member&gt;</c> / <c>&lt;partition&gt;</c></term><description>partition membership (type <c>member</c>).</description></item>
/// <item><term><c>counts#&lt;partition&gt;</c> / <c>&lt;customerKey&gt;</c></term><description>trusted reading count <c>n</c> N (type <c>counts</c>).</description></item>
/// <item><term><c>trusted#&lt;customerKey&gt;</c> / <c>&lt;partition&gt;</c></term><description>the same fact keyed by customer (type <c>trusted</c>), so
/// "has any trusted reading" is one Query with <c>Limit = 1</c>.</description></item>
/// <item><term><c>ledger#&lt;landingKey&gt;</c> / <c>-</c></term><description>ledger entry (type <c>ledger</c>): <c>idem</c> S, <c>source</c> S,
/// <c>staged</c> L of S, manifest in <c>body</c> S or <c>bodyz</c> B.</description></item>
/// <item><term><c>outcome#&lt;table&gt;</c> / <c>&lt;partition&gt;</c></term><description>refine outcome (type <c>outcome</c>): JSON in <c>body</c> S or <c>bodyz</c> B.</description></item>
/// </list>
/// <para>JSON documents larger than <see cref="CompressAboveBytes"/> UTF-8 bytes are stored gzip-compressed in the
/// binary attribute <c>bodyz</c> instead of <c>body</c>, to stay under DynamoDB's 400 KB item limit.</para>
/// <para>Writes go through BatchWriteItem in chunks of 25, retrying UnprocessedItems with exponential backoff; the
/// SDK itself retries throttling errors (configure <c>MaxErrorRetry</c> on the client, see <see cref="AwsLake"/>).
/// Customer versions are content-addressed (version id = SHA-256 of the canonical JSON), so an unconditional put of
/// an existing version writes the identical item: "an existing version is left as is" holds without a condition.</para>
/// <para><see cref="ListLedgerAsync"/> and <see cref="ListRefineOutcomesAsync"/> Scan the whole table with a filter on
/// <c>type</c>: they are for tooling and summaries, not hot paths.</para>
/// <para>Sources: DynamoDB API reference (BatchWriteItem, Query, Scan, GetItem) and "Service, account, and table
/// quotas" (400 KB item size) at https://docs.aws.amazon.com/amazondynamodb/latest/.</para>
/// </remarks>
public sealed class DynamoDbConsentIndex : IConsentIndex
{
    /// <summary>JSON bodies above this many UTF-8 bytes (350 KB) are stored gzip-compressed in a binary attribute.</summary>
    public const int CompressAboveBytes = 350 * 1024;

    private const int MaxParallelQueries = 16;
    private const int MaxBatchAttempts = 10;
    private readonly IAmazonDynamoDB _ddb;
    private readonly string _table;

    /// <summary>Creates the index over an existing table with a caller-owned client.</summary>
    /// <param name="ddb">DynamoDB client.</param>
    /// <param name="tableName">Table with string hash key <c>pk</c> and string range key <c>sk</c>.</param>
    public DynamoDbConsentIndex(IAmazonDynamoDB ddb, string tableName)
    {
        ArgumentNullException.ThrowIfNull(ddb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _ddb = ddb;
        _table = tableName;
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected a write, or items stayed unprocessed after retries.</exception>
    public Task PutCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default)
    {
        var items = new List<Dictionary<string, AttributeValue>>(versions.Count * 2);
        foreach (var v in versions)
        {
            var item = Item($"cust#{v.CustomerKey}", $"v#{v.VersionId}", "cust");
            item["key"] = S(v.CustomerKey);
            item["vid"] = S(v.VersionId);
            if (v.SerialNumber is not null) item["serial"] = S(v.SerialNumber);
            if (v.LastUpdateDate is { } lud) item["lud"] = N(lud);
            item["consented"] = new AttributeValue { BOOL = v.Consented };
            if (v.ConsentTime is { } ctime) item["ct"] = N(ctime);
            item["canon"] = S(v.Canonical);
            items.Add(item);
            if (v.SerialNumber is not null)
                items.Add(Item($"serial#{v.SerialNumber}", v.CustomerKey, "serial"));
        }
        return WriteAsync(items.Select(i => new WriteRequest { PutRequest = new PutRequest { Item = i } }), ct);
    }

    /// <inheritdoc />
    /// <remarks>One consistent Query per key (partition <c>cust#key</c>), up to 16 in parallel.</remarks>
    public async Task<IReadOnlyList<CustomerVersion>> GetCustomerVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var pages = await QueryManyAsync(customerKeys.Distinct().Select(k => $"cust#{k}"), 0, ct).ConfigureAwait(false);
        return pages.SelectMany(p => p).Select(i => new CustomerVersion(
            i["key"].S, i["vid"].S,
            i.TryGetValue("serial", out var s) ? s.S : null,
            i.TryGetValue("lud", out var lud) ? long.Parse(lud.N, CultureInfo.InvariantCulture) : null,
            i["consented"].BOOL == true,
            i.TryGetValue("ct", out var c) ? long.Parse(c.N, CultureInfo.InvariantCulture) : null,
            i["canon"].S)).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomerKeysBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default)
    {
        var distinct = serials.Distinct().ToList();
        var pages = await QueryManyAsync(distinct.Select(s => $"serial#{s}"), 0, ct).ConfigureAwait(false);
        return pages.SelectMany(p => p).Select(i => (i["pk"].S["serial#".Length..], i["sk"].S)).ToList();
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected a write, or items stayed unprocessed after retries.</exception>
    public Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> items, CancellationToken ct = default) =>
        WriteAsync(items.Select(m => new WriteRequest
        {
            PutRequest = new PutRequest { Item = Item($"member#{m.Kind}#{m.Member}", m.Partition, "member") },
        }), ct);

    /// <inheritdoc />
    /// <remarks>Distinct partitions in ordinal order.</remarks>
    public async Task<IReadOnlyList<string>> GetPartitionsAsync(string kind, IReadOnlyCollection<string> members, CancellationToken ct = default)
    {
        var pages = await QueryManyAsync(members.Distinct().Select(m => $"member#{kind}#{m}"), 0, ct).ConfigureAwait(false);
        return pages.SelectMany(p => p).Select(i => i["sk"].S).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Counts of zero or less are not stored (such a customer has no trusted reading there). The new items are
    /// written before the stale ones are deleted, so a crash between the two leaves extra facts (a customer may look
    /// as having trusted readings) rather than missing ones; the next recompute of the partition repairs it.</remarks>
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected a write, or items stayed unprocessed after retries.</exception>
    public async Task<IReadOnlyDictionary<string, long>> ReplaceTrustedReadingCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default)
    {
        var previous = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var i in await QueryAsync($"counts#{partition}", 0, ct).ConfigureAwait(false))
            previous[i["sk"].S] = long.Parse(i["n"].N, CultureInfo.InvariantCulture);

        var puts = new List<WriteRequest>();
        foreach (var (key, n) in counts)
        {
            if (n <= 0 || (previous.TryGetValue(key, out var old) && old == n)) continue;
            var c = Item($"counts#{partition}", key, "counts");
            c["n"] = N(n);
            var t = Item($"trusted#{key}", partition, "trusted");
            t["n"] = N(n);
            puts.Add(new WriteRequest { PutRequest = new PutRequest { Item = c } });
            puts.Add(new WriteRequest { PutRequest = new PutRequest { Item = t } });
        }
        await WriteAsync(puts, ct).ConfigureAwait(false);

        var deletes = new List<WriteRequest>();
        foreach (var key in previous.Keys)
        {
            if (counts.TryGetValue(key, out var n) && n > 0) continue;
            deletes.Add(new WriteRequest { DeleteRequest = new DeleteRequest { Key = Key($"counts#{partition}", key) } });
            deletes.Add(new WriteRequest { DeleteRequest = new DeleteRequest { Key = Key($"trusted#{key}", partition) } });
        }
        await WriteAsync(deletes, ct).ConfigureAwait(false);
        return previous;
    }

    /// <inheritdoc />
    /// <remarks>One consistent Query with <c>Limit = 1</c> per key (partition <c>trusted#key</c>), up to 16 in parallel.</remarks>
    public async Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var distinct = customerKeys.Distinct().ToList();
        var pages = await QueryManyAsync(distinct.Select(k => $"trusted#{k}"), 1, ct).ConfigureAwait(false);
        var result = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < distinct.Count; i++)
            if (pages[i].Count > 0) result.Add(distinct[i]);
        return result;
    }

    /// <inheritdoc />
    public async Task<LedgerEntry?> GetLedgerEntryAsync(string landingKey, CancellationToken ct = default)
    {
        var r = await _ddb.GetItemAsync(new GetItemRequest
        {
            TableName = _table, Key = Key($"ledger#{landingKey}", "-"), ConsistentRead = true,
        }, ct).ConfigureAwait(false);
        return r.Item is { Count: > 0 } item ? ToLedger(item) : null;
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected the write (e.g. an item over 400 KB even compressed).</exception>
    public Task PutLedgerEntryAsync(LedgerEntry entry, CancellationToken ct = default)
    {
        var item = Item($"ledger#{entry.LandingKey}", "-", "ledger");
        item["lk"] = S(entry.LandingKey);
        item["idem"] = S(entry.IdempotencyKey);
        item["source"] = S(entry.Source);
        item["staged"] = new AttributeValue { L = entry.StagedKeys.Select(S).ToList() };
        SetBody(item, entry.ManifestJson);
        return _ddb.PutItemAsync(new PutItemRequest { TableName = _table, Item = item }, ct);
    }

    /// <inheritdoc />
    /// <remarks>A consistent Scan filtered on <c>type = ledger</c>, ordered by landing key.</remarks>
    public async Task<IReadOnlyList<LedgerEntry>> ListLedgerAsync(CancellationToken ct = default) =>
        (await ScanTypeAsync("ledger", ct).ConfigureAwait(false)).Select(ToLedger)
            .OrderBy(e => e.LandingKey, StringComparer.Ordinal).ToList();

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected the write.</exception>
    public Task PutRefineOutcomeAsync(string table, string partition, string outcomeJson, CancellationToken ct = default)
    {
        var item = Item($"outcome#{table}", partition, "outcome");
        item["table"] = S(table);
        SetBody(item, outcomeJson);
        return _ddb.PutItemAsync(new PutItemRequest { TableName = _table, Item = item }, ct);
    }

    /// <inheritdoc />
    public async Task<string?> GetRefineOutcomeAsync(string table, string partition, CancellationToken ct = default)
    {
        var r = await _ddb.GetItemAsync(new GetItemRequest
        {
            TableName = _table, Key = Key($"outcome#{table}", partition), ConsistentRead = true,
        }, ct).ConfigureAwait(false);
        return r.Item is { Count: > 0 } item ? GetBody(item) : null;
    }

    /// <inheritdoc />
    /// <remarks>A consistent Scan filtered on <c>type = outcome</c>, ordered by table then partition.</remarks>
    public async Task<IReadOnlyList<(string Table, string Partition, string OutcomeJson)>> ListRefineOutcomesAsync(CancellationToken ct = default) =>
        (await ScanTypeAsync("outcome", ct).ConfigureAwait(false))
            .Select(i => (i["table"].S, i["sk"].S, GetBody(i)))
            .OrderBy(t => t.Item1, StringComparer.Ordinal).ThenBy(t => t.Item2, StringComparer.Ordinal).ToList();

    private static LedgerEntry ToLedger(Dictionary<string, AttributeValue> i) => new(
        i["lk"].S, i["idem"].S, i["source"].S,
        (i.TryGetValue("staged", out var st) ? st.L ?? [] : []).Select(a => a.S).ToList(),
        GetBody(i));

    private static void SetBody(Dictionary<string, AttributeValue> item, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        if (bytes.Length <= CompressAboveBytes)
        {
            item["body"] = S(json);
            return;
        }
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(bytes);
        ms.Position = 0;
        item["bodyz"] = new AttributeValue { B = ms };
    }

    private static string GetBody(Dictionary<string, AttributeValue> item)
    {
        if (item.TryGetValue("body", out var s)) return s.S;
        var b = item["bodyz"].B;
        b.Position = 0;
        using var gz = new GZipStream(b, CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private async Task<List<Dictionary<string, AttributeValue>>> ScanTypeAsync(string type, CancellationToken ct)
    {
        var result = new List<Dictionary<string, AttributeValue>>();
        var request = new ScanRequest
        {
            TableName = _table, ConsistentRead = true, FilterExpression = "#t = :t",
            ExpressionAttributeNames = new() { ["#t"] = "type" },
            ExpressionAttributeValues = new() { [":t"] = S(type) },
        };
        do
        {
            var page = await _ddb.ScanAsync(request, ct).ConfigureAwait(false);
            result.AddRange(page.Items ?? []);
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        } while (request.ExclusiveStartKey is { Count: > 0 });
        return result;
    }

    /// <summary>Queries each partition key (up to 16 at a time); result i holds the items of key i.</summary>
    private async Task<List<Dictionary<string, AttributeValue>>[]> QueryManyAsync(IEnumerable<string> pks, int limit, CancellationToken ct)
    {
        var keys = pks.ToList();
        var results = new List<Dictionary<string, AttributeValue>>[keys.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count),
            new ParallelOptions { MaxDegreeOfParallelism = MaxParallelQueries, CancellationToken = ct },
            async (i, token) => results[i] = await QueryAsync(keys[i], limit, token).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }

    /// <summary>Every item of one partition key (or the first <paramref name="limit"/> when it is positive).</summary>
    private async Task<List<Dictionary<string, AttributeValue>>> QueryAsync(string pk, int limit, CancellationToken ct)
    {
        var result = new List<Dictionary<string, AttributeValue>>();
        var request = new QueryRequest
        {
            TableName = _table, ConsistentRead = true, KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S(pk) },
        };
        if (limit > 0) request.Limit = limit;
        do
        {
            var page = await _ddb.QueryAsync(request, ct).ConfigureAwait(false);
            result.AddRange(page.Items ?? []);
            if (limit > 0 && result.Count >= limit) break;
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        } while (request.ExclusiveStartKey is { Count: > 0 });
        return result;
    }

    /// <summary>BatchWriteItem in chunks of 25 (duplicate keys collapsed, last wins), retrying UnprocessedItems.</summary>
    private async Task WriteAsync(IEnumerable<WriteRequest> requests, CancellationToken ct)
    {
        var unique = new Dictionary<(string, string), WriteRequest>();
        foreach (var r in requests)
        {
            var key = r.PutRequest?.Item ?? r.DeleteRequest!.Key;
            unique[(key["pk"].S, key["sk"].S)] = r;
        }
        foreach (var chunk in unique.Values.Chunk(25))
        {
            var pending = new Dictionary<string, List<WriteRequest>> { [_table] = chunk.ToList() };
            for (var attempt = 0; ; attempt++)
            {
                var r = await _ddb.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, ct).ConfigureAwait(false);
                if (r.UnprocessedItems is not { Count: > 0 } || r.UnprocessedItems.Values.All(l => l.Count == 0)) break;
                if (attempt + 1 >= MaxBatchAttempts)
                    throw new AmazonDynamoDBException(
                        $"BatchWriteItem left {r.UnprocessedItems.Values.Sum(l => l.Count)} items unprocessed after {MaxBatchAttempts} attempts");
                pending = r.UnprocessedItems;
                await Task.Delay(Backoff.Delay(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private static Dictionary<string, AttributeValue> Item(string pk, string sk, string type) =>
        new() { ["pk"] = S(pk), ["sk"] = S(sk), ["type"] = S(type) };

    private static Dictionary<string, AttributeValue> Key(string pk, string sk) =>
        new() { ["pk"] = S(pk), ["sk"] = S(sk) };

    private static AttributeValue S(string s) => new() { S = s };

    private static AttributeValue N(long n) => new() { N = n.ToString(CultureInfo.InvariantCulture) };
}
