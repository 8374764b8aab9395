using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Engine;

/// <summary>What changed: staged data of a source, customer records (the consent index), or a published table.</summary>
public enum NodeKind
{
    /// <summary>A landing source's staged partitions (an ingest or a retraction).</summary>
    Source,
    /// <summary>Customer records in the consent index (added or retracted versions).</summary>
    Consent,
    /// <summary>A published table's partition (a recompute).</summary>
    Table,
}

/// <summary>A node of the refresh graph.</summary>
/// <param name="Kind">Source, consent or table.</param>
/// <param name="Name">Source name, <c>consent</c>, or table name.</param>
public readonly record struct Node(NodeKind Kind, string Name)
{
    /// <summary>The staged data of a source.</summary>
    public static Node Source(string source) => new(NodeKind.Source, source);
    /// <summary>The consent index.</summary>
    public static readonly Node Consent = new(NodeKind.Consent, "consent");
    /// <summary>A published table.</summary>
    public static Node Table(string table) => new(NodeKind.Table, table);

    /// <inheritdoc />
    public override string ToString() => Kind == NodeKind.Source ? $"staged {Name}" : Name;
}

/// <summary>How an edge maps the partitions that changed upstream to the partitions to recompute downstream.</summary>
public enum PartitionMapping
{
    /// <summary>The same partition value (same reading hour, same customer bucket).</summary>
    SamePartition,
    /// <summary>The customer buckets of the changed customers.</summary>
    CustomerBucket,
    /// <summary>The reading hours holding the changed customers' accelerometer readings.</summary>
    CustomerHours,
    /// <summary>The reading hours holding Step Trainer readings of any serial the changed customers' records carry.</summary>
    SerialHours,
}

/// <summary>When an edge fires.</summary>
public enum Trigger
{
    /// <summary>On every change of the upstream node.</summary>
    Always,
    /// <summary>When the upstream partition's output changed (its bytes' hash).</summary>
    OnChange,
    /// <summary>When customers gained or lost their only trusted readings in the upstream partition.</summary>
    OnFlip,
}

/// <summary>One declared dependency: when <see cref="From"/> changes, these partitions of <see cref="To"/> are recomputed.</summary>
/// <param name="From">Upstream node.</param>
/// <param name="To">Downstream published table.</param>
/// <param name="Mapping">Partition mapping.</param>
/// <param name="When">Trigger.</param>
public sealed record Edge(Node From, string To, PartitionMapping Mapping, Trigger When);

/// <summary>A customer whose records (or whose trusted readings) changed: its index key and its customer bucket.</summary>
/// <param name="Key">The customer key (keyed hash).</param>
/// <param name="Bucket">Its <see cref="Tables.EmailBucket"/> partition value.</param>
public readonly record struct ChangedCustomer(string Key, string Bucket);

/// <summary>A committed change, to be turned into follow-up work.</summary>
/// <param name="Node">What changed.</param>
/// <param name="Partitions">Partitions of the node that changed (sources and tables).</param>
/// <param name="OutputChanged">Tables: whether the recomputed output's bytes changed.</param>
/// <param name="Customers">Consent: the customers whose records changed; accelerometer_trusted: the customers whose trusted readings appeared or vanished.</param>
/// <param name="Serials">Serials of retracted customer records, whose readings may have lost an owner.</param>
public sealed record Change(Node Node, IReadOnlyCollection<string> Partitions, bool OutputChanged,
    IReadOnlyCollection<ChangedCustomer> Customers, IReadOnlyCollection<string>? Serials = null);

/// <summary>
/// The one declared refresh graph: the only source of follow-up work, for ingests, retractions, consent changes and
/// recomputes alike. Adding a table is a recipe and its edges here. <see cref="Rank"/> orders tables topologically, so
/// a scheduler can compute each dirty partition once per wave.
/// </summary>
public sealed class RefreshGraph
{
    private readonly Dictionary<string, int> _ranks = new(StringComparer.Ordinal);

    /// <summary>Creates a graph from edges (tables must form a DAG).</summary>
    /// <exception cref="ArgumentException">The table edges contain a cycle.</exception>
    public RefreshGraph(IReadOnlyList<Edge> edges)
    {
        Edges = edges;
        var tables = edges.Select(e => e.To).Concat(edges.Where(e => e.From.Kind == NodeKind.Table).Select(e => e.From.Name)).Distinct().ToList();
        foreach (var t in tables) RankOf(t, []);
    }

    /// <summary>The edges, in declaration order.</summary>
    public IReadOnlyList<Edge> Edges { get; }

    /// <summary>The graph of the five STEDI tables (docs/ARCHITECTURE.md §7), as the README's diagram draws it.</summary>
    public static readonly RefreshGraph Stedi = new(
    [
        new(Node.Source("customer"), Tables.CustomerTrusted.Name, PartitionMapping.SamePartition, Trigger.Always),
        new(Node.Source("accelerometer"), Tables.AccelerometerTrusted.Name, PartitionMapping.SamePartition, Trigger.Always),
        new(Node.Source("step_trainer"), Tables.StepTrainerTrusted.Name, PartitionMapping.SamePartition, Trigger.Always),
        new(Node.Consent, Tables.CustomerTrusted.Name, PartitionMapping.CustomerBucket, Trigger.Always),
        new(Node.Consent, Tables.AccelerometerTrusted.Name, PartitionMapping.CustomerHours, Trigger.Always),
        new(Node.Consent, Tables.StepTrainerTrusted.Name, PartitionMapping.SerialHours, Trigger.Always),
        // machine_learning_curated pairs a reading with a Step Trainer through its customer's serial, which a new record may change.
        new(Node.Consent, Tables.MachineLearningCuratedName, PartitionMapping.CustomerHours, Trigger.Always),
        new(Node.Table(Tables.CustomerTrusted.Name), Tables.CustomerCurated.Name, PartitionMapping.SamePartition, Trigger.OnChange),
        new(Node.Table(Tables.AccelerometerTrusted.Name), Tables.CustomerCurated.Name, PartitionMapping.CustomerBucket, Trigger.OnFlip),
        new(Node.Table(Tables.AccelerometerTrusted.Name), Tables.StepTrainerTrusted.Name, PartitionMapping.SerialHours, Trigger.OnFlip),
        new(Node.Table(Tables.AccelerometerTrusted.Name), Tables.StepTrainerTrusted.Name, PartitionMapping.SamePartition, Trigger.OnChange),
        new(Node.Table(Tables.AccelerometerTrusted.Name), Tables.MachineLearningCuratedName, PartitionMapping.SamePartition, Trigger.OnChange),
        new(Node.Table(Tables.StepTrainerTrusted.Name), Tables.MachineLearningCuratedName, PartitionMapping.SamePartition, Trigger.OnChange),
    ]);

    /// <summary>Topological rank of a table: 0 when no table feeds it, else one more than its highest upstream table.</summary>
    /// <exception cref="ArgumentException">Not a table of the graph.</exception>
    public int Rank(string table) => _ranks.TryGetValue(table, out var r) ? r : throw new ArgumentException($"table '{table}' is not in the refresh graph", nameof(table));

    /// <summary>The tables of the graph in rank order (then name).</summary>
    public IReadOnlyList<string> TablesInOrder => _ranks.OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key).ToList();

    private int RankOf(string table, HashSet<string> visiting)
    {
        if (_ranks.TryGetValue(table, out var known)) return known;
        if (!visiting.Add(table)) throw new ArgumentException($"the refresh graph has a cycle through {table}");
        var rank = 0;
        foreach (var e in Edges)
            if (e.To == table && e.From.Kind == NodeKind.Table) rank = Math.Max(rank, RankOf(e.From.Name, visiting) + 1);
        visiting.Remove(table);
        return _ranks[table] = rank;
    }

    /// <summary>
    /// The recomputes a committed change needs: every edge from the changed node whose trigger holds, its partitions
    /// resolved through the index (read after the change committed, docs/ARCHITECTURE.md §7, trap b).
    /// </summary>
    public async Task<IReadOnlyCollection<RefreshWork>> FollowUpsAsync(Change change, LakeIndex index, CancellationToken ct = default)
    {
        var work = new HashSet<RefreshWork>();
        IReadOnlyList<string>? customerHours = null, serialHours = null;
        foreach (var e in Edges)
        {
            if (e.From != change.Node) continue;
            var fires = e.When switch
            {
                Trigger.Always => true,
                Trigger.OnChange => change.OutputChanged,
                Trigger.OnFlip => change.Customers.Count > 0,
                _ => false,
            };
            if (!fires) continue;
            IEnumerable<string> partitions = e.Mapping switch
            {
                PartitionMapping.SamePartition => change.Partitions,
                PartitionMapping.CustomerBucket => change.Customers.Select(c => c.Bucket),
                PartitionMapping.CustomerHours => customerHours ??= await CustomerHoursAsync(change, index, ct),
                PartitionMapping.SerialHours => serialHours ??= await SerialHoursAsync(change, index, ct),
                _ => [],
            };
            foreach (var p in partitions) work.Add(new RefreshWork(e.To, p));
        }
        return work;
    }

    private static async Task<IReadOnlyList<string>> CustomerHoursAsync(Change change, LakeIndex index, CancellationToken ct) =>
        change.Customers.Count == 0 ? [] : await index.Partitions.GetPartitionsAsync(MemberKind.Customer, change.Customers.Select(c => c.Key).Distinct().ToList(), ct);

    private static async Task<IReadOnlyList<string>> SerialHoursAsync(Change change, LakeIndex index, CancellationToken ct)
    {
        var serials = new HashSet<string>(change.Serials ?? [], StringComparer.Ordinal);
        if (change.Customers.Count > 0)
            foreach (var v in await index.Customers.GetVersionsAsync(change.Customers.Select(c => c.Key).Distinct().ToList(), ct))
                if (v.SerialNumber is not null) serials.Add(v.SerialNumber);
        return serials.Count == 0 ? [] : await index.Partitions.GetPartitionsAsync(MemberKind.Serial, serials.ToList(), ct);
    }
}
