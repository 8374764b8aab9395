using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ports;
using static Stedi.Lakehouse.Aws.DynamoDbTable;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="IRefineState"/> over the index table (string keys <c>pk</c> / <c>sk</c>): one item per (table, partition)
/// holding the last outcome and the pending mark, so no two partitions share a key. Every read is strongly consistent.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>pk / sk</term><description>attributes; size</description></listheader>
/// <item><term><c>r#&lt;table&gt;/&lt;partition&gt;</c> / <c>-</c></term><description><c>tbl</c> S, <c>part</c> S; the
/// outcome: <c>rows</c> N, <c>hash</c> S, <c>detail</c> S (when there is one); the mark: <c>pendingBy</c> S (producer),
/// <c>pendingSince</c> N (epoch milliseconds). Under 1 KB with names of today's lengths; per-object details live in
/// the object store.</description></item>
/// </list>
/// <para>The item limit is DynamoDB's 400 KB ("Service, account, and table quotas in Amazon DynamoDB",
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html); nothing here approaches it.</para>
/// <para>Requests. <see cref="GetOutcomeAsync"/>: GetItem. <see cref="GetOutcomesAsync"/>: BatchGetItem per 100.
/// <see cref="PutOutcomeAsync"/>: one UpdateItem that sets the outcome and leaves the mark. <see cref="MarkPendingAsync"/>:
/// one conditional UpdateItem per item, <c>attribute_not_exists(pendingSince) OR pendingBy = :me OR pendingSince &lt; :stale</c>.
/// <see cref="ClearPendingAsync"/>: one UpdateItem removing the mark (conditional on the item existing).
/// <see cref="ListOutcomesAsync"/>: a Scan of the whole table (tools and summaries). An item that only ever held a mark
/// is not an outcome.</para>
/// </remarks>
public sealed class DynamoDbRefineState : IRefineState
{
    private readonly DynamoDbTable _table;
    private readonly TimeProvider _clock;

    /// <summary>Creates the state over an existing table with a caller-owned client.</summary>
    /// <param name="ddb">DynamoDB client.</param>
    /// <param name="tableName">Table with string hash key <c>pk</c> and string range key <c>sk</c>.</param>
    /// <param name="clock">Clock of the pending marks; null means the system clock. Producers' clocks are compared, so
    /// <c>staleAfter</c> should exceed any skew between them (Lambda hosts keep time with NTP).</param>
    public DynamoDbRefineState(IAmazonDynamoDB ddb, string tableName, TimeProvider? clock = null)
    {
        _table = new DynamoDbTable(ddb, tableName);
        _clock = clock ?? TimeProvider.System;
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused the call.</exception>
    public async Task<PartitionOutcome?> GetOutcomeAsync(string table, string partition, CancellationToken ct = default) =>
        await _table.GetAsync(Pk(table, partition), "-", ct).ConfigureAwait(false) is { } item && item.ContainsKey("rows") ? ToOutcome(item) : null;

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyDictionary<(string Table, string Partition), PartitionOutcome>> GetOutcomesAsync(IReadOnlyCollection<RefreshWork> partitions, CancellationToken ct = default)
    {
        var items = await _table.GetManyAsync(partitions.Select(w => (Pk(w.Table, w.Partition), "-")), ct).ConfigureAwait(false);
        return items.Values.Where(i => i.ContainsKey("rows")).Select(ToOutcome).ToDictionary(o => (o.Table, o.Partition));
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused the call.</exception>
    public Task PutOutcomeAsync(PartitionOutcome outcome, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var values = new Dictionary<string, AttributeValue>
        {
            [":t"] = S(outcome.Table), [":p"] = S(outcome.Partition), [":rows"] = N(outcome.RowsOut), [":hash"] = S(outcome.OutputHash),
        };
        var update = "SET #tbl = :t, #part = :p, #rows = :rows, #hash = :hash";
        if (outcome.DetailKey is { } detail)
        {
            values[":detail"] = S(detail);
            update += ", #detail = :detail";
        }
        else update += " REMOVE #detail";
        return _table.TryUpdateAsync(new UpdateItemRequest
        {
            Key = Key(Pk(outcome.Table, outcome.Partition), "-"), UpdateExpression = update,
            ExpressionAttributeNames = new() { ["#tbl"] = "tbl", ["#part"] = "part", ["#rows"] = "rows", ["#hash"] = "hash", ["#detail"] = "detail" },
            ExpressionAttributeValues = values,
        }, ct);
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<PartitionOutcome>> ListOutcomesAsync(CancellationToken ct = default) =>
        [.. (await _table.ScanPrefixAsync("r#", "rows", ct).ConfigureAwait(false)).Select(ToOutcome)
            .OrderBy(o => o.Table, StringComparer.Ordinal).ThenBy(o => o.Partition, StringComparer.Ordinal)];

    /// <inheritdoc />
    /// <remarks>Items are returned in input order, duplicates once.</remarks>
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused a call.</exception>
    public async Task<IReadOnlyList<RefreshWork>> MarkPendingAsync(IReadOnlyCollection<RefreshWork> work, string producer, TimeSpan staleAfter, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(producer);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var stale = now - (long)staleAfter.TotalMilliseconds;
        var items = work.Distinct().ToList();
        var marked = await ForEachAsync(items, (w, token) => _table.TryUpdateAsync(new UpdateItemRequest
        {
            Key = Key(Pk(w.Table, w.Partition), "-"),
            UpdateExpression = "SET #tbl = :t, #part = :p, #by = :me, #since = :now",
            ConditionExpression = "attribute_not_exists(#since) OR #by = :me OR #since < :stale",
            ExpressionAttributeNames = new() { ["#tbl"] = "tbl", ["#part"] = "part", ["#by"] = "pendingBy", ["#since"] = "pendingSince" },
            ExpressionAttributeValues = new()
            {
                [":t"] = S(w.Table), [":p"] = S(w.Partition), [":me"] = S(producer), [":now"] = N(now), [":stale"] = N(stale),
            },
        }, token), ct).ConfigureAwait(false);
        return [.. items.Where((_, i) => marked[i])];
    }

    /// <inheritdoc />
    /// <exception cref="AmazonDynamoDBException">DynamoDB refused the call.</exception>
    public Task ClearPendingAsync(RefreshWork work, CancellationToken ct = default) =>
        _table.TryUpdateAsync(new UpdateItemRequest
        {
            Key = Key(Pk(work.Table, work.Partition), "-"),
            UpdateExpression = "REMOVE #by, #since",
            ConditionExpression = "attribute_exists(#pk)",
            ExpressionAttributeNames = new() { ["#by"] = "pendingBy", ["#since"] = "pendingSince", ["#pk"] = "pk" },
        }, ct);

    internal static string Pk(string table, string partition) => $"r#{table}/{partition}";

    private static PartitionOutcome ToOutcome(Dictionary<string, AttributeValue> i) =>
        new(i["tbl"].S, i["part"].S, Long(i["rows"]), i["hash"].S, OptionalS(i, "detail"));
}
