using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// The DynamoDB calls the index classes share, over one table with string keys <c>pk</c> / <c>sk</c>: consistent
/// BatchGetItem (100 keys a call) and BatchWriteItem (25 requests a call) with unprocessed keys and items retried with
/// backoff, consistent Query following every page, conditional writes, and bounded parallelism.
/// </summary>
/// <remarks>
/// Limits (DynamoDB API reference, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/): BatchGetItem 100
/// keys and 16 MB a call; BatchWriteItem 25 put or delete requests and 16 MB a call, no two on one key; Query and Scan
/// return at most 1 MB a page. The SDK client retries throttling itself (<c>MaxErrorRetry</c>, see <see cref="AwsLake"/>);
/// this class retries what a batch call leaves unprocessed.
/// </remarks>
internal sealed class DynamoDbTable
{
    /// <summary>Calls in flight at once per operation of one index method.</summary>
    public const int MaxParallelCalls = 8;

    private const int MaxBatchAttempts = 10;

    /// <summary>
    /// Conditional writes of one key, serialised within this process. DynamoDB evaluates a condition and applies the
    /// write atomically, so this is not needed there; moto evaluates it as an unlocked read-modify-write, and two
    /// concurrent conditional writes of one item from one process could both pass on the emulator.
    /// </summary>
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    public DynamoDbTable(IAmazonDynamoDB client, string name)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Client = client;
        Name = name;
    }

    public IAmazonDynamoDB Client { get; }

    public string Name { get; }

    public static Dictionary<string, AttributeValue> Key(string pk, string sk) => new() { ["pk"] = S(pk), ["sk"] = S(sk) };

    public static AttributeValue S(string s) => new() { S = s };

    public static AttributeValue N(long n) => new() { N = n.ToString(CultureInfo.InvariantCulture) };

    public static long Long(AttributeValue v) => long.Parse(v.N, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public static string? OptionalS(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var v) && v.S is not null ? v.S : null;

    public static long? OptionalLong(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var v) && v.N is not null ? Long(v) : null;

    public static WriteRequest Put(Dictionary<string, AttributeValue> item) => new() { PutRequest = new PutRequest { Item = item } };

    public static WriteRequest Delete(string pk, string sk) => new() { DeleteRequest = new DeleteRequest { Key = Key(pk, sk) } };

    /// <summary>Runs <paramref name="call"/> over the inputs, at most <see cref="MaxParallelCalls"/> at a time; results in input order.</summary>
    public static async Task<TResult[]> ForEachAsync<T, TResult>(IReadOnlyList<T> inputs, Func<T, CancellationToken, Task<TResult>> call, CancellationToken ct)
    {
        var results = new TResult[inputs.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, inputs.Count),
            new ParallelOptions { MaxDegreeOfParallelism = MaxParallelCalls, CancellationToken = ct },
            async (i, token) => results[i] = await call(inputs[i], token).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }

    /// <summary>Consistent BatchGetItem of the keys (duplicates collapsed), 100 a call; missing items are absent from the result.</summary>
    /// <exception cref="AmazonDynamoDBException">Keys stayed unprocessed after 10 attempts, or DynamoDB refused.</exception>
    public async Task<Dictionary<(string Pk, string Sk), Dictionary<string, AttributeValue>>> GetManyAsync(IEnumerable<(string Pk, string Sk)> keys, CancellationToken ct)
    {
        var result = new Dictionary<(string, string), Dictionary<string, AttributeValue>>();
        var gate = new Lock();
        var chunks = keys.Distinct().Chunk(100).ToList();
        await ForEachAsync(chunks, async (chunk, token) =>
        {
            var pending = new Dictionary<string, KeysAndAttributes>
            {
                [Name] = new() { Keys = [.. chunk.Select(k => Key(k.Pk, k.Sk))], ConsistentRead = true },
            };
            for (var attempt = 0; ; attempt++)
            {
                var r = await Client.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = pending }, token).ConfigureAwait(false);
                if (r.Responses?.TryGetValue(Name, out var items) == true)
                    lock (gate)
                        foreach (var item in items) result[(item["pk"].S, item["sk"].S)] = item;
                if (r.UnprocessedKeys is not { Count: > 0 } || r.UnprocessedKeys.Values.All(k => k.Keys is not { Count: > 0 })) return 0;
                if (attempt + 1 >= MaxBatchAttempts)
                    throw new AmazonDynamoDBException($"BatchGetItem left keys unprocessed after {MaxBatchAttempts} attempts");
                pending = r.UnprocessedKeys;
                foreach (var k in pending.Values) k.ConsistentRead = true;
                await Task.Delay(Backoff.Delay(attempt), token).ConfigureAwait(false);
            }
        }, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>Distinct keys written per window of <see cref="WriteAsync"/> (64 calls of 25).</summary>
    internal const int WriteWindow = 25 * 64;

    /// <summary>
    /// BatchWriteItem, 25 requests a call, calls in parallel within a window of <see cref="WriteWindow"/> distinct keys,
    /// windows one after another; a later request on the same key replaces an earlier one (in its window, or by being
    /// written after it). The requests are read as they come, so a caller may stream many (an object's membership facts)
    /// without their items all being held at once. Returns when every request is applied.
    /// </summary>
    /// <exception cref="AmazonDynamoDBException">Items stayed unprocessed after 10 attempts, or DynamoDB refused (e.g. an
    /// item over 400 KB).</exception>
    public async Task WriteAsync(IEnumerable<WriteRequest> requests, CancellationToken ct)
    {
        var window = new Dictionary<(string, string), WriteRequest>();
        foreach (var r in requests)
        {
            var key = r.PutRequest?.Item ?? r.DeleteRequest!.Key;
            window[(key["pk"].S, key["sk"].S)] = r;
            if (window.Count < WriteWindow) continue;
            await WriteWindowAsync(window.Values, ct).ConfigureAwait(false);
            window.Clear();
        }
        if (window.Count > 0) await WriteWindowAsync(window.Values, ct).ConfigureAwait(false);
    }

    private async Task WriteWindowAsync(IEnumerable<WriteRequest> requests, CancellationToken ct)
    {
        var chunks = requests.Chunk(25).ToList();
        await ForEachAsync(chunks, async (chunk, token) =>
        {
            var pending = new Dictionary<string, List<WriteRequest>> { [Name] = [.. chunk] };
            for (var attempt = 0; ; attempt++)
            {
                var r = await Client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, token).ConfigureAwait(false);
                if (r.UnprocessedItems is not { Count: > 0 } || r.UnprocessedItems.Values.All(l => l is not { Count: > 0 })) return 0;
                if (attempt + 1 >= MaxBatchAttempts)
                    throw new AmazonDynamoDBException(
                        $"BatchWriteItem left {r.UnprocessedItems.Values.Sum(l => l.Count)} items unprocessed after {MaxBatchAttempts} attempts");
                pending = r.UnprocessedItems;
                await Task.Delay(Backoff.Delay(attempt), token).ConfigureAwait(false);
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Consistent Query of one partition key, following every page, optionally from sort keys greater than
    /// <paramref name="skAfter"/> and at most <paramref name="limit"/> items (one call then).
    /// </summary>
    /// <param name="pk">Partition key.</param>
    /// <param name="projection">Attribute names to return (keys are always returned), or null for all.</param>
    /// <param name="skAfter">Only sort keys greater than this (UTF-8 byte order), or null.</param>
    /// <param name="limit">At most this many items (a single call), or null for all.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<List<Dictionary<string, AttributeValue>>> QueryAsync(string pk, IReadOnlyList<string>? projection, string? skAfter, int? limit, CancellationToken ct)
    {
        // DynamoDB refuses names and values that the expressions do not use: only what is used goes in.
        var names = new Dictionary<string, string> { ["#pk"] = "pk" };
        var values = new Dictionary<string, AttributeValue> { [":pk"] = S(pk) };
        var condition = "#pk = :pk";
        if (skAfter is not null || projection is not null) names["#sk"] = "sk";
        if (skAfter is not null)
        {
            values[":after"] = S(skAfter);
            condition += " AND #sk > :after";
        }
        string? projectionExpression = null;
        if (projection is not null)
        {
            for (var i = 0; i < projection.Count; i++) names[$"#p{i}"] = projection[i];
            projectionExpression = string.Join(", ", ["#pk", "#sk", .. projection.Select((_, i) => $"#p{i}")]);
        }
        var request = new QueryRequest
        {
            TableName = Name, ConsistentRead = true, KeyConditionExpression = condition,
            ExpressionAttributeNames = names, ExpressionAttributeValues = values,
            ProjectionExpression = projectionExpression, Limit = limit,
        };
        var result = new List<Dictionary<string, AttributeValue>>();
        while (true)
        {
            var page = await Client.QueryAsync(request, ct).ConfigureAwait(false);
            result.AddRange(page.Items ?? []);
            if (limit is not null || page.LastEvaluatedKey is not { Count: > 0 }) return result;
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        }
    }

    /// <summary>A consistent Scan of the items whose partition key starts with <paramref name="pkPrefix"/> (and that have
    /// <paramref name="requiredAttribute"/>, when given), every page. Reads the whole table: for tools and summaries.</summary>
    public async Task<List<Dictionary<string, AttributeValue>>> ScanPrefixAsync(string pkPrefix, string? requiredAttribute, CancellationToken ct)
    {
        var names = new Dictionary<string, string> { ["#pk"] = "pk" };
        var filter = "begins_with(#pk, :prefix)";
        if (requiredAttribute is not null)
        {
            names["#req"] = requiredAttribute;
            filter += " AND attribute_exists(#req)";
        }
        var request = new ScanRequest
        {
            TableName = Name, ConsistentRead = true, FilterExpression = filter,
            ExpressionAttributeNames = names, ExpressionAttributeValues = new() { [":prefix"] = S(pkPrefix) },
        };
        var result = new List<Dictionary<string, AttributeValue>>();
        while (true)
        {
            var page = await Client.ScanAsync(request, ct).ConfigureAwait(false);
            result.AddRange(page.Items ?? []);
            if (page.LastEvaluatedKey is not { Count: > 0 }) return result;
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        }
    }

    /// <summary>UpdateItem whose condition may fail: true when applied, false on <c>ConditionalCheckFailedException</c>.</summary>
    public async Task<bool> TryUpdateAsync(UpdateItemRequest request, CancellationToken ct)
    {
        request.TableName = Name;
        using var _ = await LockAsync(request.Key["pk"].S, ct).ConfigureAwait(false);
        try
        {
            await Client.UpdateItemAsync(request, ct).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>PutItem whose condition may fail: the item it replaced (empty when none) when applied, null on
    /// <c>ConditionalCheckFailedException</c>.</summary>
    public async Task<Dictionary<string, AttributeValue>?> TryPutAsync(PutItemRequest request, CancellationToken ct)
    {
        request.TableName = Name;
        request.ReturnValues = ReturnValue.ALL_OLD;
        using var _ = await LockAsync(request.Item["pk"].S, ct).ConfigureAwait(false);
        try
        {
            return (await Client.PutItemAsync(request, ct).ConfigureAwait(false)).Attributes ?? [];
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    /// <summary>Consistent GetItem; null when the item does not exist.</summary>
    public async Task<Dictionary<string, AttributeValue>?> GetAsync(string pk, string sk, CancellationToken ct)
    {
        var r = await Client.GetItemAsync(new GetItemRequest { TableName = Name, Key = Key(pk, sk), ConsistentRead = true }, ct).ConfigureAwait(false);
        return r.Item is { Count: > 0 } item ? item : null;
    }

    private async Task<IDisposable> LockAsync(string pk, CancellationToken ct)
    {
        var stripe = _stripes[(int)((uint)StringComparer.Ordinal.GetHashCode(pk) % (uint)_stripes.Length)];
        await stripe.WaitAsync(ct).ConfigureAwait(false);
        return new Release(stripe);
    }

    private sealed class Release(SemaphoreSlim stripe) : IDisposable
    {
        public void Dispose() => stripe.Release();
    }
}
