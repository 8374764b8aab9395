using System.Text;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;

namespace Stedi.Lakehouse.Refine;

/// <summary>One landing object's reconciliation: <c>RowsRead = Quarantined + Accepted + Σ Filtered</c> must hold.</summary>
/// <param name="LandingKey">Decoded landing key.</param>
/// <param name="Source">Source name.</param>
/// <param name="Status">Manifest status: complete, partial, empty or too_large.</param>
/// <param name="RowsRead">Records read.</param>
/// <param name="Quarantined">Records quarantined at ingest.</param>
/// <param name="Accepted">Staged records accepted into the source's first table.</param>
/// <param name="Filtered">Staged records filtered, by rule.</param>
/// <param name="Unaccounted">Staged records not yet accounted by any recompute (work still queued), or mismatches.</param>
/// <param name="DuplicateOf">Another landing key that held the same content when this one was ingested, or null.</param>
public sealed record ObjectReconciliation(string LandingKey, string Source, string Status, long RowsRead, long Quarantined, long Accepted,
    IReadOnlyDictionary<string, long> Filtered, long Unaccounted, string? DuplicateOf = null)
{
    /// <summary>Whether every read row is accounted for exactly once.</summary>
    public bool Balanced => Unaccounted == 0 && RowsRead == Quarantined + Accepted + Filtered.Values.Sum();
}

/// <summary>
/// A read of the lake's bookkeeping: the ledger, every ingest manifest, every partition outcome and its detail. What
/// the reconciliation, the run summary and the report are computed from.
/// </summary>
public sealed class LakeBookkeeping
{
    private LakeBookkeeping(IReadOnlyList<IngestManifest> manifests, IReadOnlyList<PartitionOutcome> outcomes, IReadOnlyDictionary<(string, string), RefineDetail> details)
    {
        Manifests = manifests;
        Outcomes = outcomes;
        Details = details;
    }

    /// <summary>The manifest of every ingested landing object (ledger order).</summary>
    public IReadOnlyList<IngestManifest> Manifests { get; }

    /// <summary>Every partition outcome.</summary>
    public IReadOnlyList<PartitionOutcome> Outcomes { get; }

    /// <summary>The detail of each partition's last recompute, by (table, partition).</summary>
    public IReadOnlyDictionary<(string Table, string Partition), RefineDetail> Details { get; }

    /// <summary>Reads the bookkeeping (manifests and details from the store, in parallel).</summary>
    public static async Task<LakeBookkeeping> LoadAsync(LakeIndex index, IObjectStore store, CancellationToken ct = default)
    {
        var ledger = await index.Ledger.ListAsync(ct);
        var outcomes = await index.Refine.ListOutcomesAsync(ct);
        var manifests = new IngestManifest?[ledger.Count];
        var details = new RefineDetail?[outcomes.Count];
        using var gate = new SemaphoreSlim(16);
        await Task.WhenAll(
            ledger.Select(async (e, i) =>
            {
                await gate.WaitAsync(ct);
                try { manifests[i] = await ReadAsync(store, e.ManifestKey, IngestManifest.FromJson, ct); }
                finally { gate.Release(); }
            }).Concat(outcomes.Select(async (o, i) =>
            {
                if (o.DetailKey is null) return;
                await gate.WaitAsync(ct);
                try { details[i] = await ReadAsync(store, o.DetailKey, RefineDetail.FromJson, ct); }
                finally { gate.Release(); }
            })));
        var byPartition = new Dictionary<(string, string), RefineDetail>();
        for (var i = 0; i < outcomes.Count; i++) if (details[i] is { } d) byPartition[(outcomes[i].Table, outcomes[i].Partition)] = d;
        return new LakeBookkeeping(manifests.Where(m => m is not null).Select(m => m!).ToList(), outcomes, byPartition);
    }

    private static async Task<T?> ReadAsync<T>(IObjectStore store, string key, Func<string, T> parse, CancellationToken ct) where T : class
    {
        try
        {
            await using var s = await store.OpenReadAsync(key, ct);
            using var reader = new StreamReader(s, Encoding.UTF8);
            return parse(await reader.ReadToEndAsync(ct));
        }
        catch (ObjectNotFoundException) { return null; } // deleted by a concurrent retraction or recompute since the list
    }
}

/// <summary>Adds up ingest manifests and refine details into the per-object reconciliation (guarantee 3 of the design).</summary>
public static class Reconciliation
{
    /// <summary>Computes the reconciliation of every ingested landing object.</summary>
    public static async Task<IReadOnlyList<ObjectReconciliation>> ComputeAsync(LakeIndex index, IObjectStore store, CancellationToken ct = default) =>
        Compute(await LakeBookkeeping.LoadAsync(index, store, ct));

    /// <summary>Computes the reconciliation from a read of the bookkeeping.</summary>
    public static IReadOnlyList<ObjectReconciliation> Compute(LakeBookkeeping books)
    {
        var result = new List<ObjectReconciliation>();
        foreach (var m in books.Manifests.OrderBy(m => m.LandingKey, StringComparer.Ordinal))
        {
            var first = LandingSource.ByName(m.Source).FirstTable.Name;
            long accepted = 0, staged = 0;
            var filtered = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var p in m.Partitions)
            {
                if (!books.Details.TryGetValue((first, p), out var d) || !d.PerObject.TryGetValue(m.ObjectId, out var t)) continue;
                accepted += t.Accepted;
                foreach (var (rule, n) in t.Filtered) { filtered[rule] = filtered.GetValueOrDefault(rule) + n; staged += n; }
                staged += t.Accepted;
            }
            result.Add(new ObjectReconciliation(m.LandingKey, m.Source, m.Status, m.RowsRead, m.RowsQuarantined, accepted, filtered, m.RowsStaged - staged, m.DuplicateOf));
        }
        return result;
    }
}
