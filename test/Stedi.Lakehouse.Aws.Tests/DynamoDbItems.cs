using System.Collections.Concurrent;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>Reading a table the way DynamoDB accounts for it: every item, and each item's size.</summary>
internal static class DynamoDbItems
{
    /// <summary>
    /// An item's size as DynamoDB counts it against the 400 KB limit: the UTF-8 length of every attribute name plus its
    /// value — strings as UTF-8 bytes, numbers about one byte per two significant digits plus one, binary as raw bytes,
    /// booleans and nulls one byte, lists and maps three bytes plus one per element plus the elements (map keys
    /// counted as names), sets the sum of their elements ("Item sizes and formats",
    /// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
    /// </summary>
    public static long Size(Dictionary<string, AttributeValue> item) =>
        item.Sum(kv => Encoding.UTF8.GetByteCount(kv.Key) + ValueSize(kv.Value));

    private static long ValueSize(AttributeValue v)
    {
        if (v.S is not null) return Encoding.UTF8.GetByteCount(v.S);
        if (v.N is not null) return NumberSize(v.N);
        if (v.B is not null) return v.B.Length;
        if (v.BOOL is not null || v.NULL is not null) return 1;
        if (v.SS is { Count: > 0 }) return v.SS.Sum(s => (long)Encoding.UTF8.GetByteCount(s));
        if (v.NS is { Count: > 0 }) return v.NS.Sum(NumberSize);
        if (v.BS is { Count: > 0 }) return v.BS.Sum(b => b.Length);
        if (v.L is not null) return 3 + v.L.Sum(e => 1 + ValueSize(e));
        if (v.M is not null) return 3 + v.M.Sum(kv => 1 + Encoding.UTF8.GetByteCount(kv.Key) + ValueSize(kv.Value));
        return 1;
    }

    private static long NumberSize(string n)
    {
        var digits = n.TrimStart('-', '+').Replace(".", "", StringComparison.Ordinal).Trim('0').Length;
        return (Math.Max(digits, 1) + 1) / 2 + 1;
    }

    /// <summary>Every item of a table (consistent Scan, every page).</summary>
    public static async Task<List<Dictionary<string, AttributeValue>>> ScanAllAsync(IAmazonDynamoDB ddb, string table)
    {
        var all = new List<Dictionary<string, AttributeValue>>();
        var request = new ScanRequest { TableName = table, ConsistentRead = true };
        do
        {
            var page = await ddb.ScanAsync(request);
            all.AddRange(page.Items ?? []);
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        } while (request.ExclusiveStartKey is { Count: > 0 });
        return all;
    }

    /// <summary>The kind of an index item: the prefix of its partition key (<c>c#</c>, <c>s#</c>, <c>m#c#</c>, …).</summary>
    public static string Kind(Dictionary<string, AttributeValue> item)
    {
        var pk = item["pk"].S;
        return pk.StartsWith("m#", StringComparison.Ordinal) ? pk[..4] : pk[..2];
    }
}

/// <summary>Counts the requests a DynamoDB client sends, by operation (the SDK's BeforeRequestEvent; one per attempt).</summary>
internal sealed class RequestCounter : IDisposable
{
    private readonly AmazonServiceClient _client;
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public RequestCounter(IAmazonDynamoDB client)
    {
        _client = (AmazonServiceClient)client;
        _client.BeforeRequestEvent += OnRequest;
    }

    /// <summary>Requests by operation name (e.g. <c>Query</c>) since the last <see cref="Take"/>, and reset.</summary>
    public Dictionary<string, int> Take()
    {
        var snapshot = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in _counts.Keys) if (_counts.TryRemove(key, out var n)) snapshot[key] = n;
        return snapshot;
    }

    public void Dispose() => _client.BeforeRequestEvent -= OnRequest;

    private void OnRequest(object sender, RequestEventArgs e)
    {
        if (e is not WebServiceRequestEventArgs w) return;
        var name = w.Request.GetType().Name;
        _counts.AddOrUpdate(name.EndsWith("Request", StringComparison.Ordinal) ? name[..^"Request".Length] : name, 1, (_, n) => n + 1);
    }
}
