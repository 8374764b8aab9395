using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Stedi.Lakehouse.Index;
using static Stedi.Lakehouse.Aws.DynamoDbTable;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="ILedger"/> over the index table (string keys <c>pk</c> / <c>sk</c>): one item per landing key, written
/// with a condition on the idempotency key it replaces, and one item per (content hash, landing key). Every read is
/// strongly consistent.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>pk / sk</term><description>attributes; size</description></listheader>
/// <item><term><c>l#&lt;landingKey&gt;</c> / <c>-</c></term><description><c>idem</c> S (version id or eTag), <c>src</c> S,
/// <c>hash</c> S (hex SHA-256 or empty), <c>man</c> S (manifest key); under 2.5 KB with S3's longest keys (1,024
/// bytes), whatever the object held — staged keys and partitions live in the manifest.</description></item>
/// <item><term><c>h#&lt;contentHash&gt;</c> / <c>&lt;landingKey&gt;</c></term><description>keys only; under 1.2 KB.</description></item>
/// </list>
/// <para>No item grows with the size of a landing object (DynamoDB's item limit is 400 KB; "Service, account, and table
/// quotas in Amazon DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).</para>
/// <para>Requests. <see cref="PutAsync"/>: PutItem of the content item, then a conditional PutItem of the entry
/// (<c>attribute_not_exists(pk)</c>, or <c>idem = :replacing</c>) returning the replaced entry, and a DeleteItem of the
/// replaced entry's content item when the content changed; on a failed condition, a GetItem to name what was found and
/// a DeleteItem of the content item just written. <see cref="DeleteAsync"/>: DeleteItem returning the entry, then
/// DeleteItem of its content item. <see cref="FindByContentAsync"/>: a Query of the hash, then BatchGetItem of the
/// entries it names: only entries whose current hash matches are returned, so a content item left behind by a crash
/// or a lost race is never an answer. <see cref="ListAsync"/>: a Scan of the whole table (tools and summaries).</para>
/// </remarks>
public sealed class DynamoDbLedger : ILedger
{
    private readonly DynamoDbTable _table;

    /// <summary>Creates the ledger over an existing table with a caller-owned client.</summary>
    /// <param name="ddb">DynamoDB client.</param>
    /// <param name="tableName">Table with string hash key <c>pk</c> and string range key <c>sk</c>.</param>
    public DynamoDbLedger(IAmazonDynamoDB ddb, string tableName) => _table = new DynamoDbTable(ddb, tableName);

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused the call.</exception>
    public async Task<LedgerEntry?> GetAsync(string landingKey, CancellationToken ct = default) =>
        await _table.GetAsync(EntryPk(landingKey), "-", ct).ConfigureAwait(false) is { } item ? ToEntry(item) : null;

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task PutAsync(LedgerEntry entry, string? replacing, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var hasHash = entry.ContentHash.Length > 0;
        // The content item first: a committed entry is always found by its content; one left behind is filtered on read.
        if (hasHash)
            await _table.Client.PutItemAsync(new PutItemRequest { TableName = _table.Name, Item = Key(ContentPk(entry.ContentHash), entry.LandingKey) }, ct).ConfigureAwait(false);

        var request = new PutItemRequest
        {
            Item = new()
            {
                ["pk"] = S(EntryPk(entry.LandingKey)), ["sk"] = S("-"), ["idem"] = S(entry.IdempotencyKey),
                ["src"] = S(entry.Source), ["hash"] = S(entry.ContentHash), ["man"] = S(entry.ManifestKey),
            },
            ConditionExpression = replacing is null ? "attribute_not_exists(#pk)" : "#idem = :replacing",
            ExpressionAttributeNames = replacing is null ? new() { ["#pk"] = "pk" } : new() { ["#idem"] = "idem" },
            ExpressionAttributeValues = replacing is null ? null : new() { [":replacing"] = S(replacing) },
        };
        var old = await _table.TryPutAsync(request, ct).ConfigureAwait(false);
        if (old is null)
        {
            var found = await GetAsync(entry.LandingKey, ct).ConfigureAwait(false);
            if (hasHash && found?.ContentHash != entry.ContentHash)
                await DeleteContentAsync(entry.ContentHash, entry.LandingKey, ct).ConfigureAwait(false);
            throw new LedgerConflictException(entry.LandingKey, replacing, found?.IdempotencyKey);
        }
        if (OptionalS(old, "hash") is { Length: > 0 } oldHash && oldHash != entry.ContentHash)
            await DeleteContentAsync(oldHash, entry.LandingKey, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task DeleteAsync(string landingKey, CancellationToken ct = default)
    {
        var r = await _table.Client.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = _table.Name, Key = Key(EntryPk(landingKey), "-"), ReturnValues = ReturnValue.ALL_OLD,
        }, ct).ConfigureAwait(false);
        if (r.Attributes is { } old && OptionalS(old, "hash") is { Length: > 0 } hash)
            await DeleteContentAsync(hash, landingKey, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<string>> FindByContentAsync(string contentHash, CancellationToken ct = default)
    {
        if (contentHash.Length == 0) return [];
        var keys = (await _table.QueryAsync(ContentPk(contentHash), [], null, null, ct).ConfigureAwait(false)).Select(i => i["sk"].S).ToList();
        var entries = await _table.GetManyAsync(keys.Select(k => (EntryPk(k), "-")), ct).ConfigureAwait(false);
        return [.. entries.Values.Select(ToEntry).Where(e => e.ContentHash == contentHash).Select(e => e.LandingKey).Order(StringComparer.Ordinal)];
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<LedgerEntry>> ListAsync(CancellationToken ct = default) =>
        [.. (await _table.ScanPrefixAsync("l#", "idem", ct).ConfigureAwait(false)).Select(ToEntry).OrderBy(e => e.LandingKey, StringComparer.Ordinal)];

    private Task DeleteContentAsync(string hash, string landingKey, CancellationToken ct) =>
        _table.Client.DeleteItemAsync(new DeleteItemRequest { TableName = _table.Name, Key = Key(ContentPk(hash), landingKey) }, ct);

    internal static string EntryPk(string landingKey) => $"l#{landingKey}";

    internal static string ContentPk(string contentHash) => $"h#{contentHash}";

    private static LedgerEntry ToEntry(Dictionary<string, AttributeValue> i) =>
        new(i["pk"].S[2..], i["idem"].S, i["src"].S, i["hash"].S, i["man"].S);
}
