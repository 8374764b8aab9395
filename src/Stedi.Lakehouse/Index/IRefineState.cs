using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Index;

/// <summary>
/// The index's record of one partition of one published table: its last completed recompute, and whether a
/// recompute is pending. Bounded in size: per-object details live in the object store (<see cref="DetailKey"/>).
/// </summary>
/// <param name="Table">Published table name.</param>
/// <param name="Partition">Partition value.</param>
/// <param name="RowsOut">Rows in the partition's Parquet object (0: no object).</param>
/// <param name="OutputHash">SHA-256 of the written object, or <c>empty</c>: an unchanged output enqueues no dependants.</param>
/// <param name="DetailKey">Object key of the recompute's detail (rows filtered per rule, per landing object), or null.</param>
public sealed record PartitionOutcome(string Table, string Partition, long RowsOut, string OutputHash, string? DetailKey);

/// <summary>
/// Refine state per (table, partition) (DynamoDB: one item per partition, never a shared key; SQLite locally):
/// outcomes, and the pending marks that let producers coalesce work that has not started (docs/ARCHITECTURE.md §7, trap a).
/// </summary>
public interface IRefineState
{
    /// <summary>The last completed outcome of a partition, or null (strongly consistent).</summary>
    Task<PartitionOutcome?> GetOutcomeAsync(string table, string partition, CancellationToken ct = default);

    /// <summary>Outcomes of many partitions at once (batched); absent partitions are missing from the result.</summary>
    Task<IReadOnlyDictionary<(string Table, string Partition), PartitionOutcome>> GetOutcomesAsync(IReadOnlyCollection<RefreshWork> partitions, CancellationToken ct = default);

    /// <summary>Stores the outcome of a completed recompute (the recompute's commit point). Leaves the pending mark alone.</summary>
    Task PutOutcomeAsync(PartitionOutcome outcome, CancellationToken ct = default);

    /// <summary>Every stored outcome, ordered by (table, partition).</summary>
    Task<IReadOnlyList<PartitionOutcome>> ListOutcomesAsync(CancellationToken ct = default);

    /// <summary>
    /// Marks work pending and returns the items that must be sent: those not already pending, those pending by the
    /// same <paramref name="producer"/> (a retry of a producer that crashed after marking), and those whose mark is
    /// older than <paramref name="staleAfter"/> (a producer that never came back). A conditional write per item.
    /// </summary>
    Task<IReadOnlyList<RefreshWork>> MarkPendingAsync(IReadOnlyCollection<RefreshWork> work, string producer, TimeSpan staleAfter, CancellationToken ct = default);

    /// <summary>Clears the pending mark of a partition when its recompute starts: work marked after this is sent again.</summary>
    Task ClearPendingAsync(RefreshWork work, CancellationToken ct = default);
}
