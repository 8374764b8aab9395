namespace Stedi.Lakehouse.Contracts;

/// <summary>
/// The part of <see cref="IWorkQueue"/> behaviour observable without a consumer: enqueuing accepts any batch size,
/// including empty batches and duplicates. Delivery semantics (coalescing, per-group serialisation, reruns of
/// work enqueued while its group runs) are adapter-specific and tested by each adapter's own suite.
/// </summary>
public abstract class WorkQueueContract
{
    /// <summary>The queue under test, plus a way to collect what it delivered (every item, in delivery order).</summary>
    protected abstract Task<(IWorkQueue Queue, Func<Task<IReadOnlyList<RefreshWork>>> Delivered)> CreateQueueAsync();

    [Fact]
    public async Task Every_enqueued_group_is_delivered_at_least_once()
    {
        var (queue, delivered) = await CreateQueueAsync();
        var t = Guid.NewGuid().ToString("N")[..8];
        var work = Enumerable.Range(0, 25).Select(i => new RefreshWork($"accelerometer_trusted_{t}", $"2022-06-18-{i % 20:D2}")).ToList();

        await queue.EnqueueAsync([]);
        await queue.EnqueueAsync(work);

        var got = await delivered();
        Assert.Equal(work.Select(w => w.GroupId).Distinct().Order(StringComparer.Ordinal),
            got.Where(w => w.Table.EndsWith(t, StringComparison.Ordinal)).Select(w => w.GroupId).Distinct().Order(StringComparer.Ordinal));
    }
}
