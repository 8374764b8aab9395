using System.Collections;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Ingest;

/// <summary>
/// The membership facts one landing object yields, held compactly while the object is read: a member (a customer's
/// join key, a serial) is numbered once, and a fact is one <see cref="long"/> (the member's number, the partition's
/// slot), so an object with 200,000 customers holds neither 200,000 customer-key strings nor a fact value per
/// (customer, hour) until its commit. Enumerating yields the distinct facts grouped by member, each member's key (a
/// customer's keyed hash, <see cref="ICustomerKeys.KeyOf"/>; a serial as written) worked out once per member; it
/// allocates what it yields and keeps nothing.
/// </summary>
internal sealed class MembershipFacts(MemberKind kind, ICustomerKeys keys) : IReadOnlyCollection<PartitionMembership>
{
    private readonly HashSet<long> _facts = [];
    private readonly StringPool _members = new();
    private readonly StringPool _partitions = new();
    private string? _lastPartition;
    private int _lastSlot;

    /// <summary>Distinct facts recorded.</summary>
    public int Count => _facts.Count;

    /// <summary>The number of a member (a customer's join key, a serial), numbering it when new.</summary>
    public int Member(string name) => _members.Intern(name);

    /// <summary>Records that member number <paramref name="member"/> (<see cref="Member"/>) has readings in <paramref name="partition"/> (idempotent).</summary>
    public void Add(int member, string partition)
    {
        if (!ReferenceEquals(partition, _lastPartition)) (_lastSlot, _lastPartition) = (_partitions.Intern(partition), partition);
        _facts.Add(((long)member << 32) | (uint)_lastSlot);
    }

    /// <inheritdoc />
    public IEnumerator<PartitionMembership> GetEnumerator()
    {
        var sorted = _facts.ToArray();
        Array.Sort(sorted);
        var member = "";
        var number = -1;
        foreach (var fact in sorted)
        {
            if ((int)(fact >> 32) != number)
            {
                number = (int)(fact >> 32);
                member = kind == MemberKind.Customer ? keys.KeyOf(_members[number]) : _members[number];
            }
            yield return new PartitionMembership(kind, member, _partitions[(int)(fact & 0xFFFF_FFFF)]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
