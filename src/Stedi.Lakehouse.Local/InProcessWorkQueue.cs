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

/// <summary>The state of one group of a work queue, as a journal keeps it.</summary>
public enum WorkState
{
    /// <summary>Waiting to run.</summary>
    Queued,
    /// <summary>Running.</summary>
    Running,
    /// <summary>Running, and work arrived meanwhile: it runs once more after.</summary>
    Dirty,
}

/// <summary>
/// Where a work queue keeps its pending work so that it survives the process (a crash, Ctrl+C, <c>kill -9</c>):
/// every state change is recorded before the call that made it returns.
/// </summary>
public interface IWorkJournal
{
    /// <summary>Every group recorded, with its work and state.</summary>
    IReadOnlyList<(RefreshWork Work, WorkState State)> Load();

    /// <summary>Records the state of some groups (insert or update).</summary>
    void Save(IReadOnlyCollection<(RefreshWork Work, WorkState State)> items);

    /// <summary>Forgets a group (its work is done).</summary>
    void Remove(RefreshWork work);
}

/// <summary>
/// The local twin of the SQS FIFO refresh queue: per-group serialisation (<see cref="RefreshWork.GroupId"/>),
/// coalescing, waves, and durability. Each group is idle, queued, running, or running-and-dirty:
/// <list type="bullet">
/// <item>work for a queued group is coalesced (it has not started, so the one run will see the new state);</item>
/// <item>work for a running group marks it dirty, and the group runs once more after the current run (docs/ARCHITECTURE.md §7
/// trap a: such work is never dropped);</item>
/// <item>a group starts only when no group of a lower <c>rank</c> (an upstream table in the refresh graph) is queued or
/// running, so a wave of work computes each dirty partition once, in dependency order;</item>
/// <item>at most one run per group and at most <c>parallelism</c> runs in all are in flight;</item>
/// <item>with a journal, every state change is recorded before the call returns, and groups found in the journal at
/// start (queued, running or dirty when the last process died) are queued again.</item>
/// </list>
/// Work starts as soon as it is enqueued and a worker is attached (and not held, see <see cref="Hold"/>);
/// <see cref="DrainAsync"/> waits for quiescence.
/// </summary>
public sealed class InProcessWorkQueue : IWorkQueue, IDisposable
{
    private sealed class Group(RefreshWork work, WorkState state)
    {
        public RefreshWork Work = work;
        public WorkState State = state;
        public long Sequence;
        public long ReadyAt; // Stopwatch timestamp before which the group does not start (the delivery delay)
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly List<Exception> _failures = [];
    private readonly Random? _shuffle;
    private readonly Func<string, int> _rank;
    private readonly IWorkJournal? _journal;
    private readonly long _delayTicks;
    private readonly CancellationTokenSource _stop = new();
    private Timer? _wake;
    private long _wakeAt = long.MaxValue;
    private Func<RefreshWork, CancellationToken, Task>? _worker;
    private TaskCompletionSource _idle = NewCompletedIdle();
    private int _running, _holds;
    private long _completed, _failed, _coalesced, _reruns, _sequence;

    /// <summary>Creates a queue.</summary>
    /// <param name="worker">Runs one item; may enqueue follow-up work into this queue. Null to <see cref="Attach"/> it later (nothing runs until then).</param>
    /// <param name="parallelism">Maximum number of groups running at once (at least 1).</param>
    /// <param name="shuffle">When given, the next group to run is picked at random from the startable ones (with parallelism 1 and a seeded
    /// <see cref="Random"/>, a reproducible non-FIFO order for order-independence tests); FIFO when null.</param>
    /// <param name="rank">The wave of a table (its topological rank in the refresh graph); all 0 when null.</param>
    /// <param name="journal">Where pending work is kept across processes; memory only when null.</param>
    /// <param name="deliveryDelay">How long newly queued work waits before it may start (the refresh queue's delivery
    /// delay): work for the same group arriving meanwhile is coalesced into it. Zero (the default) starts work at once.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parallelism"/> is less than 1, or <paramref name="deliveryDelay"/> is negative.</exception>
    public InProcessWorkQueue(Func<RefreshWork, CancellationToken, Task>? worker, int parallelism, Random? shuffle = null,
        Func<string, int>? rank = null, IWorkJournal? journal = null, TimeSpan deliveryDelay = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(deliveryDelay, TimeSpan.Zero);
        _delayTicks = (long)(deliveryDelay.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        _worker = worker;
        Parallelism = parallelism;
        _shuffle = shuffle;
        _rank = rank ?? (_ => 0);
        _journal = journal;
        if (journal is not null)
        {
            var recovered = journal.Load();
            foreach (var (work, _) in recovered) _groups[work.GroupId] = new Group(work, WorkState.Queued) { Sequence = _sequence++ };
            if (recovered.Count > 0)
            {
                Recovered = recovered.Count;
                journal.Save(recovered.Select(r => (r.Work, WorkState.Queued)).ToList());
                BecomeBusyLocked();
            }
        }
    }

    /// <summary>Maximum number of groups running at once.</summary>
    public int Parallelism { get; }

    /// <summary>Groups found in the journal at start: work a previous process left pending.</summary>
    public int Recovered { get; }

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

    /// <summary>
    /// Holds new runs until the returned handle is disposed (running ones finish): a batch run delivers every event
    /// first, like an event source mapping's batching window, so each partition is computed once.
    /// </summary>
    public IDisposable Hold()
    {
        lock (_lock) _holds++;
        return new Release(this);
    }

    private sealed class Release(InProcessWorkQueue queue) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 1) return;
            lock (queue._lock) queue._holds--;
            queue.Pump();
        }
    }

    /// <summary>A snapshot of the counters.</summary>
    public QueueProgress Snapshot()
    {
        lock (_lock) return SnapshotLocked();
    }

    /// <inheritdoc />
    public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default) => EnqueueAsync(work, "", ct);

    /// <inheritdoc />
    public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, string producer, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        lock (_lock)
        {
            var changes = new List<(RefreshWork, WorkState)>();
            foreach (var item in work)
            {
                if (!_groups.TryGetValue(item.GroupId, out var group))
                {
                    _groups[item.GroupId] = new Group(item, WorkState.Queued) { Sequence = _sequence++, ReadyAt = ReadyAtFromNow() };
                    changes.Add((item, WorkState.Queued));
                    BecomeBusyLocked();
                }
                else if (group.State == WorkState.Running)
                {
                    group.State = WorkState.Dirty;
                    changes.Add((item, WorkState.Dirty));
                }
                else _coalesced++;
            }
            // Recorded before returning: the producer commits (its ledger, its outcome) only after this.
            if (changes.Count > 0) _journal?.Save(changes);
        }
        Pump();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>The queue starts runs itself, so it knows; nothing to do.</remarks>
    public Task StartingAsync(RefreshWork work, CancellationToken ct = default) => Task.CompletedTask;

    /// <summary>
    /// Completes when nothing is queued or running. Failed runs do not stop the others: once everything drained, the
    /// failures since the previous drain are thrown together.
    /// </summary>
    /// <param name="ct">Cancels the wait and stops the queue: running workers see cancellation; queued work stays in the journal.</param>
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

    /// <summary>Stops the queue: no new runs; running workers see cancellation. What is pending stays in the journal.</summary>
    public void Dispose()
    {
        Stop();
        lock (_lock) _wake?.Dispose();
    }

    private void Stop()
    {
        lock (_lock)
        {
            foreach (var g in _groups.Where(g => g.Value.State == WorkState.Queued).Select(g => g.Key).ToList()) _groups.Remove(g);
            if (_running == 0) _idle.TrySetResult();
        }
        _stop.Cancel();
    }

    private long ReadyAtFromNow() => _delayTicks == 0 ? 0 : System.Diagnostics.Stopwatch.GetTimestamp() + _delayTicks;

    /// <summary>
    /// The queued groups that may start now: no group of a lower rank queued or running (a wave at a time), and their
    /// delivery delay over. When some wait only for their delay, a timer pumps again when the first is due.
    /// </summary>
    private List<Group> StartableLocked()
    {
        var lowest = int.MaxValue;
        foreach (var g in _groups.Values) lowest = Math.Min(lowest, _rank(g.Work.Table));
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = new List<Group>();
        var due = long.MaxValue;
        foreach (var g in _groups.Values)
        {
            if (g.State != WorkState.Queued || _rank(g.Work.Table) != lowest) continue;
            if (g.ReadyAt <= now) result.Add(g);
            else due = Math.Min(due, g.ReadyAt);
        }
        if (due != long.MaxValue && due < _wakeAt)
        {
            _wakeAt = due;
            _wake ??= new Timer(_ => { lock (_lock) _wakeAt = long.MaxValue; Pump(); });
            _wake.Change(TimeSpan.FromSeconds(Math.Max(1, due - now) / (double)System.Diagnostics.Stopwatch.Frequency), Timeout.InfiniteTimeSpan);
        }
        result.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return result;
    }

    private void Pump()
    {
        var toStart = new List<RefreshWork>();
        Func<RefreshWork, CancellationToken, Task>? worker;
        QueueProgress progress;
        lock (_lock)
        {
            worker = _worker;
            if (worker is not null && _holds == 0 && !_stop.IsCancellationRequested && _running < Parallelism)
            {
                var startable = StartableLocked();
                while (_running < Parallelism && startable.Count > 0)
                {
                    var index = _shuffle is null ? 0 : _shuffle.Next(startable.Count);
                    var g = startable[index];
                    startable.RemoveAt(index);
                    g.State = WorkState.Running;
                    _running++;
                    toStart.Add(g.Work);
                }
                if (toStart.Count > 0) _journal?.Save(toStart.Select(w => (w, WorkState.Running)).ToList());
            }
            progress = SnapshotLocked();
        }
        // Progress first: an observer that stops the process on a count (the CLI's kill switch) then stops it before the
        // runs this pump chose have started, so what a count promises is what was done.
        Progress?.Invoke(progress);
        foreach (var item in toStart) _ = Task.Run(() => RunAsync(worker!, item));
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
            var group = _groups[item.GroupId];
            if (failure is not null && !_stop.IsCancellationRequested)
            {
                _failed++;
                _failures.Add(new WorkFailedException(item, failure));
            }
            if (_stop.IsCancellationRequested)
            {
                // Interrupted: what was running stays in the journal as it is, and runs again in the next process.
                _groups.Remove(item.GroupId);
            }
            else if (group.State == WorkState.Dirty)
            {
                group.State = WorkState.Queued;
                group.Sequence = _sequence++;
                group.ReadyAt = ReadyAtFromNow();
                _reruns++;
                _journal?.Save([(item, WorkState.Queued)]);
            }
            else
            {
                _groups.Remove(item.GroupId);
                // A failed run leaves its group in the journal: the next run (or `run --keep`) retries it, as SQS redelivers.
                if (failure is null) _journal?.Remove(item);
            }
            if (_running == 0 && (_groups.Count == 0 || _stop.IsCancellationRequested)) _idle.TrySetResult();
        }
        Pump();
    }

    private void BecomeBusyLocked()
    {
        if (_idle.Task.IsCompleted) _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private QueueProgress SnapshotLocked() => new(_groups.Values.Count(g => g.State == WorkState.Queued), _running, _completed, _failed, _coalesced, _reruns);

    private static TaskCompletionSource NewCompletedIdle()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }
}
