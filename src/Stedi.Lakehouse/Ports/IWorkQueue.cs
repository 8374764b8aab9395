namespace Stedi.Lakehouse.Ports;

/// <summary>
/// A request to recompute one partition of one published table. Equal items are interchangeable: a queue may
/// coalesce items that have not started, never an item queued while the same partition is being recomputed
/// (docs/ARCHITECTURE.md §7, trap a).
/// </summary>
/// <param name="Table">Published table name, e.g. <c>accelerometer_trusted</c>.</param>
/// <param name="Partition">Partition value, e.g. <c>2022-06-18-15</c> or <c>07</c>.</param>
public sealed record RefreshWork(string Table, string Partition)
{
    /// <summary>The serialisation group: at most one recompute of a group runs at a time (SQS FIFO MessageGroupId).</summary>
    public string GroupId => $"{Table}/{Partition}";
}

/// <summary>Queue of refresh work (SQS FIFO in production, in-process locally).</summary>
public interface IWorkQueue
{
    /// <summary>Enqueues work. Must be called only after the state change that caused it has committed.</summary>
    Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default);

    /// <summary>
    /// Enqueues work, coalescing items that are pending and not started. Must be called only after the state change
    /// that caused it has committed. <paramref name="producer"/> names the producing step (an ingest of one object
    /// version, a recompute of one partition) so that its retry after a crash sends again what it marked.
    /// </summary>
    Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, string producer, CancellationToken ct = default) => EnqueueAsync(work, ct);

    /// <summary>Called when a recompute of <paramref name="work"/> starts, before it reads any input: work enqueued after this is not coalesced into it.</summary>
    Task StartingAsync(RefreshWork work, CancellationToken ct = default) => Task.CompletedTask;
}
