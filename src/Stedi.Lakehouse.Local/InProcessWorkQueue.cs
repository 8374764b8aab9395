using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>A snapshot of an <see cref="InProcessWorkQueue"/>'s counters, for progress display.</summary>
/// <param name="Queued">Groups waiting to run (including dirty groups re-queued after their run).</param>
/// <param name="Running">Groups whose worker is running.</param>
/// <param name="Completed">Worker runs finished (successfully or not) since the queue was created.</param>
/// <param name="Failed">Worker runs that threw, since the queue was created.</param>
/// <param name="Coalesced">Enqueued items merged into work that had not started.</param>
/// <param name="Reruns">Runs caused by work enqueued while the same group was running.</param>
public sealed record QueueProgress(int Queued, int Running, long Completed, long Failed, long Coalesced, long Reruns);

/// <summary>
/// An in-process <see cref="IWorkQueue"/> with per-group serialisation (<see cref="RefreshWork.GroupId"/>). Each
/// group is idle, queued, running, or running-and-dirty:
/// <list type="bullet">
/// <item>work for a queued group is coalesced (it has not started, so the one run will see the new state);</item>
/// <item>work for a running group marks it dirty, and the group runs once more after the current run
/// (DESIGN.md §4, trap a: such work is never dropped);</item>
/// <item>at most one run per group and at most <c>parallelism</c> runs in all are in flight.</item>
/// </list>
/// Work starts as soon as it is enqueued and a worker is attached; <see cref="DrainAsync"/> waits for quiescence.
/// </summary>
public sealed class InProcessWorkQueue : IWorkQueue, IDisposable
{
    private enum GroupState { Queued, Running, Dirty }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);
    private readonly List<RefreshWork> _ready = [];
    private readonly List<Exception> _failures = [];
    private readonly Random? _shuffle;
    private readonly CancellationTokenSource _stop = new();
    private Func<RefreshWork, CancellationToken, Task>? _worker;
    private TaskCompletionSource _idle = NewCompletedIdle();
    private int _running;
    private long _completed, _failed, _coalesced, _reruns;

    /// <summary>Creates a queue.</summary>
    /// <param name="worker">Runs one item; may enqueue follow-up work into this queue. Null to <see cref="Attach"/> it later (nothing runs until then).</param>
    /// <param name="parallelism">Maximum number of groups running at once (at least 1).</param>
    /// <param name="shuffle">When given, the next group to run is picked at random from the ready ones (with parallelism 1 and a seeded
    /// <see cref="Random"/>, a reproducible non-FIFO order for order-independence tests); FIFO when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parallelism"/> is less than 1.</exception>
    public InProcessWorkQueue(Func<RefreshWork, CancellationToken, Task>? worker, int parallelism, Random? shuffle = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        _worker = worker;
        Parallelism = parallelism;
        _shuffle = shuffle;
    }

    /// <summary>Maximum number of groups running at once.</summary>
    public int Parallelism { get; }

    /// <summary>Called (on a worker or enqueuing thread, outside the queue's lock) after every state change; keep it quick.</summary>
    public Action<QueueProgress>? Progress { get; set; }

    /// <summary>Worker runs finished, successful or not.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Worker runs that threw.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Enqueued items merged into queued work (or into an already dirty group).</summary>
    public long Coalesced => Interlocked.Read(ref _coalesced);

    /// <summary>Runs caused by work enqueued while its group was running.</summary>
    public long Reruns => Interlocked.Read(ref _reruns);

    /// <summary>Sets the worker when it was not given to the constructor (the worker usually needs the queue itself), and starts queued work.</summary>
    /// <exception cref="InvalidOperationException">A worker is already attached.</exception>
    public void Attach(Func<RefreshWork, CancellationToken, Task> worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        lock (_lock)
        {
            if (_worker is not null) throw new InvalidOperationException("a worker is already attached");
            _worker = worker;
        }
        Pump();
    }

    /// <summary>A snapshot of the counters.</summary>
    public QueueProgress Snapshot()
    {
        lock (_lock) return SnapshotLocked();
    }

    /// <inheritdoc />
    public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        lock (_lock)
        {
            foreach (var item in work)
            {
                var group = item.GroupId;
                if (!_groups.TryGetValue(group, out var state))
                {
                    _groups[group] = GroupState.Queued;
                    _ready.Add(item);
                    BecomeBusyLocked();
                }
                else if (state == GroupState.Running)
                {
                    _groups[group] = GroupState.Dirty;
                }
                else
                {
                    _coalesced++;
                }
            }
        }
        Pump();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Completes when nothing is queued or running. Failed runs do not stop the others: once everything drained, the
    /// failures since the previous drain are thrown together.
    /// </summary>
    /// <param name="ct">Cancels the wait and stops the queue: queued work is discarded and running workers see cancellation.</param>
    /// <exception cref="AggregateException">One or more worker runs threw; one inner exception per failed run
    /// (a <see cref="WorkFailedException"/> naming the work, the worker's exception as its inner exception).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task DrainAsync(CancellationToken ct = default)
    {
        Task idle;
        lock (_lock) idle = _idle.Task;
        try
        {
            await idle.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Stop();
            throw;
        }
        Exception[] failures;
        lock (_lock)
        {
            failures = [.. _failures];
            _failures.Clear();
        }
        if (failures.Length > 0) throw new AggregateException($"{failures.Length} refresh run(s) failed", failures);
    }

    /// <summary>Stops the queue: discards queued work and cancels running workers.</summary>
    public void Dispose() => Stop();

    private void Stop()
    {
        lock (_lock)
        {
            foreach (var item in _ready) _groups.Remove(item.GroupId);
            _ready.Clear();
            if (_running == 0) _idle.TrySetResult();
        }
        _stop.Cancel();
    }

    private void Pump()
    {
        var toStart = new List<RefreshWork>();
        Func<RefreshWork, CancellationToken, Task>? worker;
        QueueProgress progress;
        lock (_lock)
        {
            worker = _worker;
            while (worker is not null && !_stop.IsCancellationRequested && _running < Parallelism && _ready.Count > 0)
            {
                var index = _shuffle is null ? 0 : _shuffle.Next(_ready.Count);
                var item = _ready[index];
                _ready.RemoveAt(index);
                _groups[item.GroupId] = GroupState.Running;
                _running++;
                toStart.Add(item);
            }
            progress = SnapshotLocked();
        }
        foreach (var item in toStart) _ = Task.Run(() => RunAsync(worker!, item));
        Progress?.Invoke(progress);
    }

    private async Task RunAsync(Func<RefreshWork, CancellationToken, Task> worker, RefreshWork item)
    {
        Exception? failure = null;
        try
        {
            await worker(item, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
        }
        lock (_lock)
        {
            _running--;
            _completed++;
            if (failure is not null)
            {
                _failed++;
                _failures.Add(new WorkFailedException(item, failure));
            }
            if (_groups[item.GroupId] == GroupState.Dirty && !_stop.IsCancellationRequested)
            {
                _groups[item.GroupId] = GroupState.Queued;
                _ready.Add(item);
                _reruns++;
            }
            else
            {
                _groups.Remove(item.GroupId);
            }
            if (_running == 0 && (_ready.Count == 0 || _stop.IsCancellationRequested)) _idle.TrySetResult();
        }
        Pump();
    }

    private void BecomeBusyLocked()
    {
        if (_idle.Task.IsCompleted) _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private QueueProgress SnapshotLocked() => new(_ready.Count, _running, _completed, _failed, _coalesced, _reruns);

    private static TaskCompletionSource NewCompletedIdle()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }
}
