namespace Stedi.Lakehouse.Contracts;

using Stedi.Lakehouse.Index;

/// <summary>
/// The behaviour every <see cref="IRefineState"/> must have: outcomes, and pending marks that coalesce work not yet
/// started without ever dropping work that arrives once a recompute has started. Subclass it with a factory for the
/// adapter under test. Every test makes its table names unique with a random tag, so one state store (or emulator
/// table) may be shared by every test; listings are filtered to the test's tag.
/// </summary>
public abstract class RefineStateContract
{
    /// <summary>The refine state under test (may be shared by tests; each test uses fresh tables).</summary>
    protected abstract Task<IRefineState> CreateAsync();

    /// <summary>Partitions in the scale test (outcomes, batched get, pending marks). 500 by default.</summary>
    protected virtual int LargeCount => 500;

    /// <summary>A tag no other test uses.</summary>
    protected static string Tag() => Guid.NewGuid().ToString("N")[..12];

    /// <summary>Long enough that no mark made by a test goes stale while it runs.</summary>
    private static readonly TimeSpan Fresh = TimeSpan.FromHours(1);

    private static List<RefreshWork> Work(string t, int n) =>
        [.. Enumerable.Range(0, n).Select(i => new RefreshWork($"accelerometer_trusted_{t}", $"2022-06-18-{i:D2}"))];

    private static List<RefreshWork> Sorted(IEnumerable<RefreshWork> work) => [.. work.OrderBy(w => w.GroupId, StringComparer.Ordinal)];

    private static async Task<List<PartitionOutcome>> ListTagged(IRefineState state, string t) =>
        [.. (await state.ListOutcomesAsync()).Where(o => o.Table.EndsWith(t, StringComparison.Ordinal))];

    [Fact]
    public async Task Outcomes_are_put_replaced_read_and_listed_by_table_then_partition()
    {
        var state = await CreateAsync();
        var t = Tag();
        string acc = $"accelerometer_trusted_{t}", cus = $"customer_trusted_{t}";
        var a15 = new PartitionOutcome(acc, "2022-06-18-15", 12, "e3b0c442", $"details/{acc}/2022-06-18-15.json");
        var a16 = new PartitionOutcome(acc, "2022-06-18-16", 0, "", null);
        var c03 = new PartitionOutcome(cus, "03", 482, "9f86d081", null);

        Assert.Null(await state.GetOutcomeAsync(acc, "2022-06-18-15"));
        foreach (var o in new[] { c03, a16, a15 with { RowsOut = 1, OutputHash = "old" }, a15 }) await state.PutOutcomeAsync(o);

        Assert.Equal(a15, await state.GetOutcomeAsync(acc, "2022-06-18-15"));
        Assert.Equal(a16, await state.GetOutcomeAsync(acc, "2022-06-18-16"));
        Assert.Null(await state.GetOutcomeAsync(cus, "2022-06-18-15"));
        Assert.Equal([a15, a16, c03], await ListTagged(state, t));
    }

    [Fact]
    public async Task A_batched_get_returns_the_stored_outcomes_and_leaves_absent_partitions_out()
    {
        var state = await CreateAsync();
        var t = Tag();
        var work = Work(t, 5);
        foreach (var w in work.Take(3)) await state.PutOutcomeAsync(new(w.Table, w.Partition, w.Partition.Length, $"hash-{w.Partition}", null));

        var got = await state.GetOutcomesAsync([work[4], work[0], work[2], work[0], new($"other_{t}", work[1].Partition)]);

        Assert.Equal(
            new Dictionary<(string, string), PartitionOutcome>
            {
                [(work[0].Table, work[0].Partition)] = new(work[0].Table, work[0].Partition, 13, $"hash-{work[0].Partition}", null),
                [(work[2].Table, work[2].Partition)] = new(work[2].Table, work[2].Partition, 13, $"hash-{work[2].Partition}", null),
            },
            got);
        Assert.Empty(await state.GetOutcomesAsync([]));
    }

    [Fact]
    public async Task The_first_producer_marks_and_sends_and_a_second_producer_sends_nothing_while_pending()
    {
        var state = await CreateAsync();
        var work = Work(Tag(), 3);

        Assert.Equal(Sorted(work.Take(2)), Sorted(await state.MarkPendingAsync(work.Take(2).ToList(), "ingest-a", Fresh)));
        Assert.Empty(await state.MarkPendingAsync(work.Take(2).ToList(), "ingest-b", Fresh));
        Assert.Equal([work[2]], await state.MarkPendingAsync(work, "ingest-c", Fresh));
        Assert.Empty(await state.MarkPendingAsync([], "ingest-d", Fresh));
    }

    [Fact]
    public async Task The_same_producer_retrying_after_a_crash_sends_its_items_again()
    {
        var state = await CreateAsync();
        var work = Work(Tag(), 2);
        await state.MarkPendingAsync(work, "ingest-a", Fresh);

        Assert.Equal(Sorted(work), Sorted(await state.MarkPendingAsync(work, "ingest-a", Fresh)));
        Assert.Empty(await state.MarkPendingAsync(work, "ingest-b", Fresh));
    }

    [Fact]
    public async Task A_stale_mark_is_sent_again_by_the_next_producer_who_then_holds_it()
    {
        var state = await CreateAsync();
        var work = Work(Tag(), 2);
        await state.MarkPendingAsync(work, "ingest-a", Fresh);
        await Task.Delay(20); // the mark is strictly older than zero whatever the store's clock resolution

        Assert.Equal(Sorted(work), Sorted(await state.MarkPendingAsync(work, "ingest-b", TimeSpan.Zero)));
        Assert.Empty(await state.MarkPendingAsync(work, "ingest-c", Fresh));
        Assert.Equal(Sorted(work), Sorted(await state.MarkPendingAsync(work, "ingest-b", Fresh)));
    }

    [Fact]
    public async Task Clearing_the_mark_when_the_recompute_starts_lets_the_next_producer_send()
    {
        var state = await CreateAsync();
        var work = Work(Tag(), 2);
        await state.MarkPendingAsync(work, "ingest-a", Fresh);

        await state.ClearPendingAsync(work[0]);
        await state.ClearPendingAsync(work[0]);
        await state.ClearPendingAsync(new RefreshWork(work[0].Table, "never-marked"));

        Assert.Equal([work[0]], await state.MarkPendingAsync(work, "ingest-b", Fresh));
        Assert.Empty(await state.MarkPendingAsync(work, "ingest-c", Fresh));
    }

    [Fact]
    public async Task Pending_marks_and_outcomes_do_not_touch_each_other()
    {
        var state = await CreateAsync();
        var t = Tag();
        var work = Work(t, 2);
        var outcome = new PartitionOutcome(work[1].Table, work[1].Partition, 7, "abc", null);

        await state.MarkPendingAsync(work, "ingest-a", Fresh);
        Assert.Null(await state.GetOutcomeAsync(work[0].Table, work[0].Partition));
        Assert.Empty(await state.GetOutcomesAsync(work));
        Assert.Empty(await ListTagged(state, t));

        await state.PutOutcomeAsync(outcome);
        Assert.Empty(await state.MarkPendingAsync(work, "ingest-b", Fresh));

        await state.ClearPendingAsync(work[1]);
        Assert.Equal(outcome, await state.GetOutcomeAsync(work[1].Table, work[1].Partition));
        Assert.Equal([outcome], await ListTagged(state, t));
    }

    [Fact]
    public async Task Of_concurrent_producers_marking_the_same_work_each_item_is_sent_by_exactly_one()
    {
        var state = await CreateAsync();
        var work = Work(Tag(), 24);

        var sent = await Task.WhenAll(Enumerable.Range(0, 4).Select(p =>
            Task.Run(() => state.MarkPendingAsync([.. work.OrderBy(_ => Random.Shared.Next())], $"producer-{p}", Fresh))));

        Assert.Equal(Sorted(work), Sorted(sent.SelectMany(s => s)));
    }

    [Fact]
    public async Task Many_partitions_are_stored_read_in_one_batch_listed_and_marked()
    {
        var state = await CreateAsync();
        var t = Tag();
        var work = Enumerable.Range(0, LargeCount).Select(i => new RefreshWork($"step_trainer_trusted_{t}", $"h{i:D6}")).ToList();
        var outcomes = work.Select((w, i) => new PartitionOutcome(w.Table, w.Partition, i, $"{i:x64}", i % 2 == 0 ? null : $"d/{i}")).ToList();
        foreach (var chunk in outcomes.Chunk(16)) await Task.WhenAll(chunk.Select(o => state.PutOutcomeAsync(o)));

        Assert.Equal(outcomes.ToDictionary(o => (o.Table, o.Partition)), await state.GetOutcomesAsync(work));
        Assert.Equal(outcomes, await ListTagged(state, t));
        Assert.Equal(work, Sorted(await state.MarkPendingAsync(work, "ingest-a", Fresh)));
        Assert.Empty(await state.MarkPendingAsync(work, "ingest-b", Fresh));
    }
}
