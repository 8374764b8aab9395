using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Index;

/// <summary>What a membership fact is about.</summary>
public enum MemberKind
{
    /// <summary>A customer key (accelerometer readings of that customer).</summary>
    Customer,
    /// <summary>A Step Trainer serial number (Step Trainer readings of that device).</summary>
    Serial,
}

/// <summary>A fact "partition P holds readings of member M", used to find what a change must recompute.</summary>
/// <param name="Kind">Customer (member = customer key; accelerometer readings) or Serial (member = serial; Step Trainer readings).</param>
/// <param name="Member">Customer key or serial number.</param>
/// <param name="Partition">Partition value (reading hour).</param>
public readonly record struct PartitionMembership(MemberKind Kind, string Member, string Partition);

/// <summary>
/// Which partitions hold which customers and serials, and which customers hold trusted readings where (DynamoDB: one
/// item per fact; SQLite locally). Every read is strongly consistent; writes are commutative set operations.
/// </summary>
public interface IPartitionIndex
{
    /// <summary>Records membership facts (idempotent).</summary>
    Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> facts, CancellationToken ct = default);

    /// <summary>Distinct partitions holding any of the members of a kind, ordered.</summary>
    Task<IReadOnlyList<string>> GetPartitionsAsync(MemberKind kind, IReadOnlyCollection<string> members, CancellationToken ct = default);

    /// <summary>The per-customer counts of trusted accelerometer readings stored for one partition (empty when none).</summary>
    Task<IReadOnlyDictionary<string, long>> GetTrustedCountsAsync(string partition, CancellationToken ct = default);

    /// <summary>
    /// Replaces the per-customer counts of trusted accelerometer readings of one partition (customers absent from
    /// <paramref name="counts"/> lose their entry). Only the recompute of that partition calls it, and recomputes of
    /// one partition are serialised.
    /// </summary>
    Task ReplaceTrustedCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default);

    /// <summary>The subset of customer keys with at least one trusted accelerometer reading in any partition.</summary>
    Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default);
}
