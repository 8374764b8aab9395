using System.Collections.Concurrent;

namespace Stedi.Lakehouse.Local.Tests;

public sealed class InProcessWorkQueueContractTests : WorkQueueContract
{
    protected override Task<(IWorkQueue Queue, Func<Task<IReadOnlyList<RefreshWork>>> Delivered)> CreateQueueAsync()
    {
        var delivered = new ConcurrentQueue<RefreshWork>();
        var queue = new InProcessWorkQueue((w, _) => { delivered.Enqueue(w); return Task.CompletedTask; }, 4);
        return Task.FromResult<(IWorkQueue, Func<Task<IReadOnlyList<RefreshWork>>>)>((queue, async () =>
        {
            await queue.DrainAsync();
            return delivered.ToList();
        }));
    }
}

public sealed class InProcessWorkQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Work_enqueued_while_its_group_runs_runs_again_after()
    {
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var runs = 0;
        var queue = new InProcessWorkQueue(async (_, _) =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                started.SetResult();
                await release.Task;
            }
        }, parallelism: 2);
        var work = new RefreshWork("accelerometer_trusted", "2022-06-18-15");

        await queue.EnqueueAsync([work]);
        await started.Task.WaitAsync(Timeout);
        await queue.EnqueueAsync([work]); // state changed while running: must not be dropped
        await queue.EnqueueAsync([work]); // already dirty: one rerun covers both
        release.SetResult();
        await queue.DrainAsync().WaitAsync(Timeout);

        Assert.Equal(2, runs);
        Assert.Equal(2, queue.Completed);
        Assert.Equal(1, queue.Reruns);
        Assert.Equal(1, queue.Coalesced);
    }

    [Fact]
    public async Task Work_for_a_queued_group_is_coalesced()
    {
        var runs = new ConcurrentBag<string>();
        var queue = new InProcessWorkQueue(null, parallelism: 1);
        var a = new RefreshWork("customer_trusted", "03");
        var b = new RefreshWork("customer_trusted", "04");

        await queue.EnqueueAsync([a, b, a]);
        await queue.EnqueueAsync([b, a]);
        queue.Attach((w, _) => { runs.Add(w.GroupId); return Task.CompletedTask; });
        await queue.DrainAsync().WaitAsync(Timeout);

        Assert.Equal(["customer_trusted/03", "customer_trusted/04"], runs.Order(StringComparer.Ordinal));
        Assert.Equal(3, queue.Coalesced);
        Assert.Equal(0, queue.Reruns);
        Assert.Equal(2, queue.Completed);
    }

    [Fact]
    public async Task With_a_delivery_delay_work_arriving_within_it_is_coalesced_and_starts_without_another_enqueue()
    {
        var runs = new ConcurrentQueue<string>();
        using var queue = new InProcessWorkQueue((w, _) => { runs.Enqueue(w.GroupId); return Task.CompletedTask; }, parallelism: 2,
            deliveryDelay: TimeSpan.FromSeconds(1));
        var hour = new RefreshWork("accelerometer_trusted", "2022-06-18-15");

        // Three files of one hour delivered back to back, as an upload burst: the worker is attached, yet nothing
        // starts within the delay, and the hour is computed once.
        await queue.EnqueueAsync([hour]);
        await queue.EnqueueAsync([hour]);
        await queue.EnqueueAsync([hour, new RefreshWork("accelerometer_trusted", "2022-06-18-16")]);
        Assert.Empty(runs);
        await queue.DrainAsync().WaitAsync(Timeout); // only the delay's timer can start them

        Assert.Equal(["accelerometer_trusted/2022-06-18-15", "accelerometer_trusted/2022-06-18-16"], runs.Order(StringComparer.Ordinal));
        Assert.Equal(2, queue.Coalesced);
        Assert.Equal(2, queue.Completed);
    }

    [Fact]
    public void A_negative_delivery_delay_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new InProcessWorkQueue(null, 1, deliveryDelay: TimeSpan.FromSeconds(-1)));

    [Fact]
    public async Task Parallelism_bounds_running_groups_and_a_group_never_runs_twice_at_once()
    {
        var running = 0;
        var maxRunning = 0;
        var perGroup = new ConcurrentDictionary<string, int>();
        var runs = new ConcurrentBag<string>();
        var overlap = false;
        InProcessWorkQueue? queue = null;
        queue = new InProcessWorkQueue(async (w, _) =>
        {
            runs.Add(w.GroupId);
            if (perGroup.AddOrUpdate(w.GroupId, 1, (_, n) => n + 1) > 1) overlap = true;
            var now = Interlocked.Increment(ref running);
            lock (perGroup) maxRunning = Math.Max(maxRunning, now);
            await Task.Delay(5);
            // Follow-up work into groups that may be running: exercises the dirty path under contention.
            if (w.Table == "accelerometer_trusted") await queue!.EnqueueAsync([new RefreshWork("customer_curated", $"{int.Parse(w.Partition) % 4:D2}")]);
            Interlocked.Decrement(ref running);
            perGroup.AddOrUpdate(w.GroupId, 0, (_, n) => n - 1);
        }, parallelism: 3);

        await queue.EnqueueAsync([.. Enumerable.Range(0, 30).Select(i => new RefreshWork("accelerometer_trusted", $"{i:D2}"))]);
        await queue.DrainAsync().WaitAsync(Timeout);

        Assert.False(overlap);
        Assert.Equal(3, maxRunning);
        Assert.Equal(0, queue.Snapshot().Running);
        Assert.Equal(0, queue.Snapshot().Queued);
        var customerRuns = runs.Count(g => g.StartsWith("customer_curated/", StringComparison.Ordinal));
        Assert.Equal(30, runs.Count(g => g.StartsWith("accelerometer_trusted/", StringComparison.Ordinal)));
        Assert.Equal(["customer_curated/00", "customer_curated/01", "customer_curated/02", "customer_curated/03"],
            runs.Where(g => g.StartsWith("customer_curated/", StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal));
        // Each of the 30 follow-ups started a group, was coalesced into queued work, or made a running group rerun.
        var firstRuns = customerRuns - queue.Reruns;
        Assert.Equal(30, firstRuns + queue.Coalesced + queue.Reruns);
        Assert.Equal(30 + customerRuns, queue.Completed);
    }

    [Fact]
    public async Task Failures_surface_from_DrainAsync_after_the_rest_drained()
    {
        var done = new ConcurrentBag<string>();
        var queue = new InProcessWorkQueue((w, _) =>
        {
            if (w.Partition is "02" or "05") throw new InvalidOperationException($"boom {w.Partition}");
            done.Add(w.Partition);
            return Task.CompletedTask;
        }, parallelism: 2);

        await queue.EnqueueAsync([.. Enumerable.Range(0, 8).Select(i => new RefreshWork("t", $"{i:D2}"))]);
        var e = await Assert.ThrowsAsync<AggregateException>(() => queue.DrainAsync().WaitAsync(Timeout));

        Assert.Equal(["00", "01", "03", "04", "06", "07"], done.Order(StringComparer.Ordinal));
        Assert.Equal(["t/02", "t/05"], e.InnerExceptions.Cast<WorkFailedException>().Select(f => f.Work.GroupId).Order(StringComparer.Ordinal));
        Assert.All(e.InnerExceptions, f => Assert.IsType<InvalidOperationException>(f.InnerException));
        Assert.Equal(2, queue.Failed);
        Assert.Equal(8, queue.Completed);
        await queue.DrainAsync(); // failures are reported once
    }

    [Fact]
    public async Task Seeded_shuffle_gives_a_reproducible_non_fifo_order()
    {
        async Task<List<string>> RunAsync(int seed)
        {
            var order = new List<string>();
            var queue = new InProcessWorkQueue(null, 1, new Random(seed));
            await queue.EnqueueAsync([.. Enumerable.Range(0, 12).Select(i => new RefreshWork("t", $"{i:D2}"))]);
            queue.Attach((w, _) => { lock (order) order.Add(w.Partition); return Task.CompletedTask; });
            await queue.DrainAsync().WaitAsync(Timeout);
            return order;
        }

        var first = await RunAsync(42);
        var again = await RunAsync(42);
        var other = await RunAsync(7);

        Assert.Equal(first, again);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"{i:D2}"), first.Order(StringComparer.Ordinal));
        Assert.NotEqual(first, other);
        Assert.NotEqual(Enumerable.Range(0, 12).Select(i => $"{i:D2}"), first);
    }

    [Fact]
    public async Task Progress_reports_queued_running_and_completed_counts()
    {
        var reports = new ConcurrentQueue<QueueProgress>();
        var queue = new InProcessWorkQueue((_, _) => Task.Delay(1), 2) { Progress = reports.Enqueue };

        await queue.EnqueueAsync([.. Enumerable.Range(0, 5).Select(i => new RefreshWork("t", $"{i}"))]);
        await queue.DrainAsync().WaitAsync(Timeout);

        Assert.NotEmpty(reports);
        Assert.All(reports, p => Assert.InRange(p.Running, 0, 2));
        Assert.Contains(reports, p => p.Queued == 3 && p.Running == 2);
        Assert.Equal(new QueueProgress(0, 0, 5, 0, 0, 0), queue.Snapshot());
    }

    [Fact]
    public async Task DrainAsync_of_an_idle_queue_completes_at_once()
    {
        var queue = new InProcessWorkQueue((_, _) => Task.CompletedTask, 1);

        await queue.DrainAsync().WaitAsync(Timeout);

        Assert.Equal(0, queue.Completed);
    }

    [Fact]
    public async Task Cancelling_DrainAsync_stops_the_queue_and_cancels_running_workers()
    {
        var workerCancelled = new TaskCompletionSource();
        var queue = new InProcessWorkQueue(async (_, ct) =>
        {
            try { await Task.Delay(Timeout, ct); }
            catch (OperationCanceledException) { workerCancelled.TrySetResult(); throw; }
        }, 1);
        await queue.EnqueueAsync([new RefreshWork("t", "1"), new RefreshWork("t", "2")]);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.DrainAsync(cts.Token));

        await workerCancelled.Task.WaitAsync(Timeout);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queue.EnqueueAsync([new RefreshWork("t", "3")]));
    }
}
