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
/// <para>Item layout. Each lookup is one item per looked-up key, so every read is a BatchGetItem (100 keys a call)
/// and no read needs a Query; every set-valued write is an atomic UpdateItem (<c>ADD</c> to a string set, or
/// <c>SET x = if_not_exists(x, v)</c>), so concurrent writers produce the union with no read-modify-write race.
/// Every item carries <c>type</c>.</para>
/// <list type="table">
/// <listheader><term>pk / sk</term><description>what and attributes</description></listheader>
/// <item><term><c>cust#&lt;customerKey&gt;</c> / <c>-</c></term><description>the customer's versions (type <c>cust</c>): one map
/// attribute per version named <c>v#&lt;versionId&gt;</c> = {<c>serial</c> S?, <c>lud</c> N?, <c>consented</c> BOOL, <c>ct</c> N?,
/// <c>canon</c> S}, written with <c>if_not_exists</c> (a stored version is never changed).</description></item>
/// <item><term><c>serial#&lt;serial&gt;</c> / <c>-</c></term><description>customers that carried the serial: <c>keys</c> SS.</description></item>
/// <item><term><c>member#&lt;kind&gt;#&lt;member&gt;</c> / <c>-</c></term><description>partitions holding the member: <c>parts</c> SS.</description></item>
/// <item><term><c>counts#&lt;partition&gt;</c> / <c>s00</c>..<c>s15</c></term><description>trusted reading counts of the
/// partition, sharded by a hash of the customer key: <c>n</c> M (customer key → N). Only counts above zero are kept.</description></item>
/// <item><term><c>trusted#&lt;customerKey&gt;</c> / <c>-</c></term><description>partitions where the customer has trusted
/// readings: <c>parts</c> SS (DynamoDB drops the attribute when the set empties).</description></item>
/// <item><term><c>ledger#&lt;landingKey&gt;</c> / <c>-</c></term><description>ledger entry (type <c>ledger</c>): <c>lk</c>, <c>idem</c>,
/// <c>source</c> S, <c>staged</c> L of S, the manifest in <c>body</c> S or <c>bodyz</c> B.</description></item>
/// <item><term><c>outcome#&lt;table&gt;</c> / <c>&lt;partition&gt;</c></term><description>refine outcome (type <c>outcome</c>):
/// <c>table</c> S, JSON in <c>body</c> S or <c>bodyz</c> B.</description></item>
/// </list>
/// <para>Limits that follow from DynamoDB's 400 KB item size: a customer's versions (about 600 of ~600 bytes), the
/// partitions of one member (about 25,000 hour values), the customers of one serial, and a partition's trusted counts
/// (16 shards, about 150,000 customers). JSON documents above <see cref="CompressAboveBytes"/> UTF-8 bytes are stored
/// gzip-compressed in the binary attribute <c>bodyz</c>.</para>
/// <para>Batch calls retry UnprocessedItems / UnprocessedKeys with exponential backoff; the SDK itself retries
/// throttling (<c>ProvisionedThroughputExceededException</c>, <c>ThrottlingException</c>) per the client's
/// <c>MaxErrorRetry</c> (see <see cref="AwsLake"/>). <see cref="ListLedgerAsync"/> and
/// <see cref="ListRefineOutcomesAsync"/> Scan the table with a filter on <c>type</c>: for tools and summaries.</para>
/// <para>Sources: DynamoDB API reference (UpdateItem update expressions, BatchGetItem, BatchWriteItem, Scan) and
/// "Service, account, and table quotas" at https://docs.aws.amazon.com/amazondynamodb/latest/.</para>
/// </remarks>
public sealed class DynamoDbConsentIndex : IConsentIndex
{
    /// <summary>JSON bodies above this many UTF-8 bytes (350 KB) are stored gzip-compressed in a binary attribute.</summary>
    public const int CompressAboveBytes = 350 * 1024;

    /// <summary>Number of items a partition's trusted counts are spread over.</summary>
    public const int CountShards = 16;

    private const int MaxParallelCalls = 16;
    private const int MaxBatchAttempts = 10;
    private const int VersionsPerUpdate = 40;
    private readonly IAmazonDynamoDB _ddb;
    private readonly string _table;
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

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
    /// <remarks>Serials first (UpdateItem <c>ADD keys</c> per serial; a superset is harmless), then one UpdateItem per
    /// customer setting each version attribute with <c>if_not_exists</c>. The first occurrence of a version in the
    /// input wins, as if the versions had been written one by one.</remarks>
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected a write (e.g. the customer's item would exceed 400 KB).</exception>
    public async Task PutCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default)
    {
        var bySerial = versions.Where(v => v.SerialNumber is not null)
            .GroupBy(v => v.SerialNumber!, StringComparer.Ordinal)
            .Select(g => (Pk: $"serial#{g.Key}", Values: g.Select(v => v.CustomerKey).Distinct().ToList()));
        await AddToSetsAsync(bySerial, "keys", "serial", ct).ConfigureAwait(false);

        var calls = new List<(string Key, List<CustomerVersion> Versions)>();
        foreach (var g in versions.GroupBy(v => v.CustomerKey, StringComparer.Ordinal))
        {
            var unique = g.DistinctBy(v => v.VersionId, StringComparer.Ordinal).ToList();
            calls.AddRange(unique.Chunk(VersionsPerUpdate).Select(c => (g.Key, c.ToList())));
        }
        await ForEachAsync(calls, (c, token) => SetVersionsAsync(c.Key, c.Versions, token), ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>REMOVE of the version attributes on the customer's item (the serial sets keep the key: they are a superset,
    /// and readers check the winner's serial).</remarks>
    public Task RemoveCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default)
    {
        var calls = versions.GroupBy(v => v.CustomerKey, StringComparer.Ordinal)
            .SelectMany(g => g.DistinctBy(v => v.VersionId, StringComparer.Ordinal).Chunk(VersionsPerUpdate).Select(c => (Key: g.Key, Ids: c.Select(v => v.VersionId).ToList())))
            .ToList();
        return ForEachAsync(calls, (c, token) => UpdateAsync(new UpdateItemRequest
        {
            TableName = _table, Key = Key($"cust#{c.Key}", "-"),
            UpdateExpression = "REMOVE " + string.Join(", ", c.Ids.Select((_, i) => $"#v{i}")),
            ExpressionAttributeNames = c.Ids.Select((id, i) => (id, i)).ToDictionary(x => $"#v{x.i}", x => $"v#{x.id}"),
        }, token), ct);
    }

    /// <inheritdoc />
    public Task DeleteLedgerEntryAsync(string landingKey, CancellationToken ct = default) =>
        _ddb.DeleteItemAsync(new DeleteItemRequest { TableName = _table, Key = Key($"ledger#{landingKey}", "-") }, ct);

    private Task<UpdateItemResponse> SetVersionsAsync(string customerKey, List<CustomerVersion> versions, CancellationToken ct)
    {
        var names = new Dictionary<string, string> { ["#t"] = "type", ["#k"] = "key" };
        var values = new Dictionary<string, AttributeValue> { [":t"] = S("cust"), [":k"] = S(customerKey) };
        var sets = new List<string> { "#t = :t", "#k = :k" };
        for (var i = 0; i < versions.Count; i++)
        {
            var v = versions[i];
            var m = new Dictionary<string, AttributeValue>
            {
                ["consented"] = new() { BOOL = v.Consented },
                ["canon"] = S(v.Canonical),
            };
            if (v.SerialNumber is not null) m["serial"] = S(v.SerialNumber);
            if (v.LastUpdateDate is { } lud) m["lud"] = N(lud);
            if (v.ConsentTime is { } ctime) m["ct"] = N(ctime);
            names[$"#v{i}"] = $"v#{v.VersionId}";
            values[$":v{i}"] = new AttributeValue { M = m };
            sets.Add($"#v{i} = if_not_exists(#v{i}, :v{i})");
        }
        return UpdateAsync(new UpdateItemRequest
        {
            TableName = _table, Key = Key($"cust#{customerKey}", "-"),
            UpdateExpression = "SET " + string.Join(", ", sets),
            ExpressionAttributeNames = names, ExpressionAttributeValues = values,
        }, ct);
    }

    /// <inheritdoc />
    /// <remarks>BatchGetItem of the customers' items (consistent), 100 keys a call.</remarks>
    public async Task<IReadOnlyList<CustomerVersion>> GetCustomerVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var items = await GetManyAsync(customerKeys.Distinct().Select(k => $"cust#{k}"), ct).ConfigureAwait(false);
        var result = new List<CustomerVersion>();
        foreach (var item in items.Values)
        {
            var key = item["key"].S;
            foreach (var (name, value) in item)
            {
                if (!name.StartsWith("v#", StringComparison.Ordinal)) continue;
                var m = value.M;
                result.Add(new CustomerVersion(key, name[2..],
                    m.TryGetValue("serial", out var s) ? s.S : null,
                    m.TryGetValue("lud", out var lud) ? long.Parse(lud.N, CultureInfo.InvariantCulture) : null,
                    m["consented"].BOOL == true,
                    m.TryGetValue("ct", out var c) ? long.Parse(c.N, CultureInfo.InvariantCulture) : null,
                    m["canon"].S));
            }
        }
        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomerKeysBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default)
    {
        var items = await GetManyAsync(serials.Distinct().Select(s => $"serial#{s}"), ct).ConfigureAwait(false);
        return items.SelectMany(kv => StringSet(kv.Value, "keys").Select(k => (kv.Key["serial#".Length..], k))).ToList();
    }

    /// <inheritdoc />
    /// <remarks>One UpdateItem <c>ADD parts</c> per distinct (kind, member).</remarks>
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected a write.</exception>
    public Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> items, CancellationToken ct = default) =>
        AddToSetsAsync(items.GroupBy(m => (m.Kind, m.Member))
            .Select(g => (Pk: $"member#{g.Key.Kind}#{g.Key.Member}", Values: g.Select(m => m.Partition).Distinct().ToList())),
            "parts", "member", ct);

    /// <inheritdoc />
    /// <remarks>Distinct partitions in ordinal order.</remarks>
    public async Task<IReadOnlyList<string>> GetPartitionsAsync(string kind, IReadOnlyCollection<string> members, CancellationToken ct = default)
    {
        var items = await GetManyAsync(members.Distinct().Select(m => $"member#{kind}#{m}"), ct).ConfigureAwait(false);
        return items.Values.SelectMany(i => StringSet(i, "parts")).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <remarks>
    /// Counts of zero or less are not stored (such a customer has no trusted reading there). The per-customer
    /// <c>trusted#</c> sets are updated first (ADD / DELETE of the partition, idempotent), then the changed count shards
    /// are rewritten; a crash in between leaves the old counts, so the retried recompute applies the same changes again.
    /// Safe without conditions only because recomputes of one partition are serialised (the port's contract).
    /// </remarks>
    /// <exception cref="AmazonDynamoDBException">DynamoDB rejected a write.</exception>
    public async Task<IReadOnlyDictionary<string, long>> ReplaceTrustedReadingCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default)
    {
        var pk = $"counts#{partition}";
        var shardKeys = Enumerable.Range(0, CountShards).Select(ShardName).ToList();
        var stored = await GetManyAsync(shardKeys.Select(s => (pk, s)), ct).ConfigureAwait(false);
        var previous = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var item in stored.Values)
            if (item.TryGetValue("n", out var n) && n.M is { } m)
                foreach (var (k, v) in m) previous[k] = long.Parse(v.N, CultureInfo.InvariantCulture);

        var next = counts.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var added = next.Keys.Where(k => !previous.ContainsKey(k)).ToList();
        var removed = previous.Keys.Where(k => !next.ContainsKey(k)).ToList();
        await ForEachAsync(added.Select(k => (k, "ADD")).Concat(removed.Select(k => (k, "DELETE"))).ToList(),
            (c, token) => UpdateAsync(new UpdateItemRequest
            {
                TableName = _table, Key = Key($"trusted#{c.Item1}", "-"),
                UpdateExpression = c.Item2 == "ADD" ? "SET #t = :t ADD #p :p" : "SET #t = :t DELETE #p :p",
                ExpressionAttributeNames = new() { ["#t"] = "type", ["#p"] = "parts" },
                ExpressionAttributeValues = new() { [":t"] = S("trusted"), [":p"] = new AttributeValue { SS = [partition] } },
            }, token), ct).ConfigureAwait(false);

        var writes = new List<WriteRequest>();
        for (var shard = 0; shard < CountShards; shard++)
        {
            var sk = ShardName(shard);
            var entries = next.Where(kv => Shard(kv.Key) == shard)
                .ToDictionary(kv => kv.Key, kv => N(kv.Value));
            var before = previous.Where(kv => Shard(kv.Key) == shard).ToDictionary(kv => kv.Key, kv => kv.Value);
            if (entries.Count == before.Count && entries.All(e => before.TryGetValue(e.Key, out var b) && b.ToString(CultureInfo.InvariantCulture) == e.Value.N))
                continue;
            if (entries.Count == 0)
            {
                writes.Add(new WriteRequest { DeleteRequest = new DeleteRequest { Key = Key(pk, sk) } });
                continue;
            }
            var item = Item(pk, sk, "counts");
            item["n"] = new AttributeValue { M = entries };
            writes.Add(new WriteRequest { PutRequest = new PutRequest { Item = item } });
        }
        await WriteAsync(writes, ct).ConfigureAwait(false);
        return previous;
    }

    /// <inheritdoc />
    /// <remarks>BatchGetItem of the customers' <c>trusted#</c> items (consistent).</remarks>
    public async Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var items = await GetManyAsync(customerKeys.Distinct().Select(k => $"trusted#{k}"), ct).ConfigureAwait(false);
        return items.Where(kv => StringSet(kv.Value, "parts").Count > 0)
            .Select(kv => kv.Key["trusted#".Length..]).ToHashSet(StringComparer.Ordinal);
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

    private static List<string> StringSet(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var v) && v.SS is { } ss ? ss : [];

    /// <summary>Stable shard of a customer key: FNV-1a of its UTF-8 bytes modulo <see cref="CountShards"/>.</summary>
    private static int Shard(string key)
    {
        var h = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(key)) h = (h ^ b) * 16777619u;
        return (int)(h % CountShards);
    }

    private static string ShardName(int shard) => $"s{shard:D2}";

    /// <summary>UpdateItem <c>ADD &lt;attribute&gt; :set</c> per item, up to 16 calls in parallel.</summary>
    private Task AddToSetsAsync(IEnumerable<(string Pk, List<string> Values)> sets, string attribute, string type, CancellationToken ct) =>
        ForEachAsync(sets.Where(s => s.Values.Count > 0).ToList(), (s, token) => UpdateAsync(new UpdateItemRequest
        {
            TableName = _table, Key = Key(s.Pk, "-"),
            UpdateExpression = "SET #t = :t ADD #a :a",
            ExpressionAttributeNames = new() { ["#t"] = "type", ["#a"] = attribute },
            ExpressionAttributeValues = new() { [":t"] = S(type), [":a"] = new AttributeValue { SS = s.Values } },
        }, token), ct);

    /// <summary>
    /// UpdateItem, serialised per item within this process. DynamoDB applies one item's updates atomically, so this is
    /// not needed for correctness there; moto applies them as an unlocked read-modify-write, and concurrent updates
    /// of one item from one process would lose each other's changes on the emulator.
    /// </summary>
    private async Task<UpdateItemResponse> UpdateAsync(UpdateItemRequest request, CancellationToken ct)
    {
        var stripe = _stripes[(int)((uint)StringComparer.Ordinal.GetHashCode(request.Key["pk"].S) % (uint)_stripes.Length)];
        await stripe.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await _ddb.UpdateItemAsync(request, ct).ConfigureAwait(false);
        }
        finally
        {
            stripe.Release();
        }
    }

    private static Task ForEachAsync<T, TResult>(IReadOnlyList<T> work, Func<T, CancellationToken, Task<TResult>> call, CancellationToken ct) =>
        Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelCalls, CancellationToken = ct },
            async (w, token) => await call(w, token).ConfigureAwait(false));

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

    /// <summary>Items with sort key <c>-</c> by partition key.</summary>
    private async Task<Dictionary<string, Dictionary<string, AttributeValue>>> GetManyAsync(IEnumerable<string> pks, CancellationToken ct) =>
        (await GetManyAsync(pks.Select(pk => (pk, "-")), ct).ConfigureAwait(false))
            .ToDictionary(kv => kv.Key.Pk, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>BatchGetItem (consistent) in chunks of 100, up to 16 calls in parallel, retrying UnprocessedKeys.
    /// Missing items are absent from the result.</summary>
    private async Task<Dictionary<(string Pk, string Sk), Dictionary<string, AttributeValue>>> GetManyAsync(IEnumerable<(string Pk, string Sk)> keys, CancellationToken ct)
    {
        var result = new Dictionary<(string, string), Dictionary<string, AttributeValue>>();
        var gate = new Lock();
        var chunks = keys.Distinct().Chunk(100).ToList();
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelCalls, CancellationToken = ct }, async (chunk, token) =>
        {
            var pending = new Dictionary<string, KeysAndAttributes>
            {
                [_table] = new() { Keys = chunk.Select(k => Key(k.Pk, k.Sk)).ToList(), ConsistentRead = true },
            };
            for (var attempt = 0; ; attempt++)
            {
                var r = await _ddb.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = pending }, token).ConfigureAwait(false);
                if (r.Responses?.TryGetValue(_table, out var items) == true)
                    lock (gate)
                        foreach (var item in items) result[(item["pk"].S, item["sk"].S)] = item;
                if (r.UnprocessedKeys is not { Count: > 0 } || r.UnprocessedKeys.Values.All(k => k.Keys is not { Count: > 0 })) break;
                if (attempt + 1 >= MaxBatchAttempts)
                    throw new AmazonDynamoDBException($"BatchGetItem left keys unprocessed after {MaxBatchAttempts} attempts");
                pending = r.UnprocessedKeys;
                foreach (var k in pending.Values) k.ConsistentRead = true;
                await Task.Delay(Backoff.Delay(attempt), token).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
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
