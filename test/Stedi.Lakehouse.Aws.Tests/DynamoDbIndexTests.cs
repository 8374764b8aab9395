using Amazon.DynamoDBv2.Model;

namespace Stedi.Lakehouse.Aws.Tests;

// Inside the namespace so that the Index types win over the old Ports types of the global usings.
using Stedi.Lakehouse.Index;

/// <summary>
/// DynamoDB-specific behaviour of the index classes beyond the contracts: the item layout, the state a crash between
/// two writes leaves and how the next call finishes it, and what an unchanged write costs.
/// </summary>
public sealed class DynamoDbIndexTests(MotoLake moto) : IClassFixture<MotoLake>
{
    private static string Tag() => Guid.NewGuid().ToString("N")[..12];

    private async Task<Dictionary<string, AttributeValue>?> RawAsync(string pk, string sk)
    {
        var r = await moto.Lake.DynamoDb.GetItemAsync(new GetItemRequest
        {
            TableName = moto.Lake.Config.IndexTable, ConsistentRead = true,
            Key = new() { ["pk"] = new AttributeValue { S = pk }, ["sk"] = new AttributeValue { S = sk } },
        });
        return r.Item is { Count: > 0 } item ? item : null;
    }

    private Task PutRawAsync(Dictionary<string, AttributeValue> item) =>
        moto.Lake.DynamoDb.PutItemAsync(new PutItemRequest { TableName = moto.Lake.Config.IndexTable, Item = item });

    private Task DeleteRawAsync(string pk, string sk) => moto.Lake.DynamoDb.DeleteItemAsync(new DeleteItemRequest
    {
        TableName = moto.Lake.Config.IndexTable,
        Key = new() { ["pk"] = new AttributeValue { S = pk }, ["sk"] = new AttributeValue { S = sk } },
    });

    [Fact]
    public async Task Membership_facts_stream_in_windows_and_repeats_across_windows_are_written_once()
    {
        // More facts than one write window holds, each given twice: the second copy of each falls in the next window
        // (a BatchWriteItem with one key twice is refused, a repeat across windows is one more put of the same item).
        var t = Tag();
        var facts = Enumerable.Range(0, DynamoDbTable.WriteWindow + 300)
            .Select(i => new PartitionMembership(MemberKind.Serial, $"{t}-{i % 700}", $"2022-06-18-{i / 700:00}")).ToList();
        var distinct = facts.Distinct().Count();
        Assert.True(facts.Count > DynamoDbTable.WriteWindow);

        await moto.Lake.Partitions.AddMembershipAsync([.. facts, .. facts]);

        var found = await moto.Lake.Partitions.GetPartitionsAsync(MemberKind.Serial, [.. Enumerable.Range(0, 700).Select(i => $"{t}-{i}")]);
        Assert.Equal(facts.Select(f => f.Partition).Distinct().Order(StringComparer.Ordinal), found);
        Assert.Equal(DynamoDbTable.WriteWindow + 300, distinct);
        foreach (var f in facts.Where((_, i) => i % 50 == 0)) Assert.NotNull(await RawAsync($"m#s#{f.Member}", f.Partition));
    }

    [Fact]
    public async Task A_version_is_one_item_under_the_hashed_key_and_its_serial_one_look_up_item()
    {
        var key = HmacCustomerKeys.FromText("a secret for the layout test").KeyOf($"{Tag()}@example.com");
        var v = new CustomerVersion(key, "0badc0ffee", "serial-7", 1_655_564_376_361L, true, 1_655_564_376_362L, "{\"email\":\"ann@example.com\"}");

        await moto.Lake.Customers.PutVersionsAsync([v]);

        var item = await RawAsync($"c#{key}", "v#0badc0ffee");
        Assert.NotNull(item);
        Assert.Equal(["canon", "cons", "ct", "lud", "pk", "serial", "sk"], item.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("1655564376361", item["lud"].N);
        Assert.Equal(["pk", "sk"], (await RawAsync("s#serial-7", $"{key}#0badc0ffee"))!.Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain('@', key);
    }

    [Fact]
    public async Task A_serial_look_up_lost_between_the_two_writes_is_restored_by_putting_the_version_again()
    {
        var t = Tag();
        var v = new CustomerVersion($"{t}-ann", "v1", $"{t}-serial", 10, false, null, "{}");
        await moto.Lake.Customers.PutVersionsAsync([v]);
        await DeleteRawAsync($"s#{t}-serial", $"{t}-ann#v1"); // as if the process had died after the version item

        Assert.Empty(await moto.Lake.Customers.GetCustomersBySerialAsync([$"{t}-serial"]));
        await moto.Lake.Customers.PutVersionsAsync([v]);

        Assert.Equal([($"{t}-serial", $"{t}-ann")], await moto.Lake.Customers.GetCustomersBySerialAsync([$"{t}-serial"]));
        Assert.Equal([v], await moto.Lake.Customers.GetVersionsAsync([v.CustomerKey]));
    }

    [Fact]
    public async Task A_customer_key_holding_the_separator_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() =>
            moto.Lake.Customers.PutVersionsAsync([new CustomerVersion("a#b", "v1", null, null, false, null, "{}")]));
    }

    [Fact]
    public async Task A_count_left_marked_by_a_crash_is_finished_by_the_next_replace_whichever_way_it_goes()
    {
        var t = Tag();
        string p = $"{t}-p", ann = $"{t}-ann", bob = $"{t}-bob";
        // ann: marked before her reverse item was written; bob: marked, reverse written, count not yet final.
        await PutRawAsync(DynamoDbPartitionIndex.CountItem(p, ann, 3, pending: true));
        await PutRawAsync(DynamoDbPartitionIndex.CountItem(p, bob, 2, pending: true));
        await PutRawAsync(DynamoDbPartitionIndex.KeysOnly(DynamoDbPartitionIndex.ReversePk(bob), p));
        Assert.Equal(new HashSet<string> { bob }, await moto.Lake.Partitions.GetCustomersWithTrustedReadingsAsync([ann, bob]));

        // The retried recompute keeps ann and drops bob.
        await moto.Lake.Partitions.ReplaceTrustedCountsAsync(p, new Dictionary<string, long> { [ann] = 3 });

        Assert.Equal(new HashSet<string> { ann }, await moto.Lake.Partitions.GetCustomersWithTrustedReadingsAsync([ann, bob]));
        Assert.Equal(new Dictionary<string, long> { [ann] = 3 }, await moto.Lake.Partitions.GetTrustedCountsAsync(p));
        Assert.False((await RawAsync($"t#{p}", ann))!.ContainsKey("pend"));
        Assert.Null(await RawAsync($"u#{bob}", p));
    }

    [Fact]
    public async Task Replacing_counts_with_equal_counts_is_one_query_and_no_write()
    {
        var t = Tag();
        var counts = Enumerable.Range(0, 60).ToDictionary(i => $"{t}-c{i:D2}", i => (long)(i % 3), StringComparer.Ordinal);
        using var requests = new RequestCounter(moto.Lake.DynamoDb);

        await moto.Lake.Partitions.ReplaceTrustedCountsAsync($"{t}-p", counts);
        var first = requests.Take();
        await moto.Lake.Partitions.ReplaceTrustedCountsAsync($"{t}-p", counts);

        // 40 positive counts: 2 rounds of 25 marked, 2 of reverse items, 3 of 60 final counts.
        Assert.Equal(new Dictionary<string, int> { ["Query"] = 1, ["BatchWriteItem"] = 7 }, first);
        Assert.Equal(new Dictionary<string, int> { ["Query"] = 1 }, requests.Take());
    }

    [Fact]
    public async Task A_content_item_left_behind_is_never_an_answer_and_a_lost_conflict_removes_its_own()
    {
        var t = Tag();
        var key = $"{t}/customer/landing/a.json";
        await moto.Lake.Ledger.PutAsync(new LedgerEntry(key, "v1", "customer", $"{t}-h1", "manifests/customer/a.json"), replacing: null);
        await PutRawAsync(new() { ["pk"] = new AttributeValue { S = $"h#{t}-stale" }, ["sk"] = new AttributeValue { S = key } });

        Assert.Empty(await moto.Lake.Ledger.FindByContentAsync($"{t}-stale"));
        var conflict = await Assert.ThrowsAsync<LedgerConflictException>(() =>
            moto.Lake.Ledger.PutAsync(new LedgerEntry(key, "v2", "customer", $"{t}-h2", "manifests/customer/b.json"), replacing: null));
        Assert.Contains("found v1", conflict.Message, StringComparison.Ordinal);
        Assert.Null(await RawAsync($"h#{t}-h2", key));
        Assert.Equal([key], await moto.Lake.Ledger.FindByContentAsync($"{t}-h1"));
    }

    [Fact]
    public async Task A_pending_mark_is_the_producer_and_epoch_milliseconds_on_the_partitions_item_and_clearing_keeps_the_outcome()
    {
        var t = Tag();
        var work = new RefreshWork($"accelerometer_trusted_{t}", "2022-06-18-15");
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await moto.Lake.RefineState.PutOutcomeAsync(new PartitionOutcome(work.Table, work.Partition, 12, "abc", "details/x.json"));

        Assert.Equal([work], await moto.Lake.RefineState.MarkPendingAsync([work, work], "ingest customer/landing/a.json@v1", TimeSpan.FromMinutes(15)));
        var item = (await RawAsync($"r#{work.Table}/{work.Partition}", "-"))!;
        Assert.Equal("ingest customer/landing/a.json@v1", item["pendingBy"].S);
        Assert.InRange(long.Parse(item["pendingSince"].N, System.Globalization.CultureInfo.InvariantCulture), before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        await moto.Lake.RefineState.ClearPendingAsync(work);
        item = (await RawAsync($"r#{work.Table}/{work.Partition}", "-"))!;
        Assert.False(item.ContainsKey("pendingBy") || item.ContainsKey("pendingSince"));
        Assert.Equal(new PartitionOutcome(work.Table, work.Partition, 12, "abc", "details/x.json"),
            await moto.Lake.RefineState.GetOutcomeAsync(work.Table, work.Partition));
    }
}
