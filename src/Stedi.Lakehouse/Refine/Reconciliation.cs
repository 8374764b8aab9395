using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;

namespace Stedi.Lakehouse.Refine;

/// <summary>One landing object's reconciliation: <c>RowsRead = Quarantined + Accepted + Σ Filtered</c> must hold.</summary>
/// <param name="LandingKey">Decoded landing key.</param>
/// <param name="Source">Source name.</param>
/// <param name="Status">Manifest status: complete, partial or empty.</param>
/// <param name="RowsRead">Records read.</param>
/// <param name="Quarantined">Records quarantined at ingest.</param>
/// <param name="Accepted">Staged records accepted into the source's first table.</param>
/// <param name="Filtered">Staged records filtered, by rule.</param>
/// <param name="Unaccounted">Staged records not yet accounted by any refine outcome (work still queued), or mismatches.</param>
public sealed record ObjectReconciliation(string LandingKey, string Source, string Status, long RowsRead, long Quarantined, long Accepted,
    IReadOnlyDictionary<string, long> Filtered, long Unaccounted)
{
    /// <summary>Whether every read row is accounted for exactly once.</summary>
    public bool Balanced => Unaccounted == 0 && RowsRead == Quarantined + Accepted + Filtered.Values.Sum();
}

/// <summary>Adds up ingest manifests and refine outcomes into the per-object reconciliation (guarantee 3 of DESIGN.md §3).</summary>
public static class Reconciliation
{
    /// <summary>Computes the reconciliation of every ingested landing object.</summary>
    public static async Task<IReadOnlyList<ObjectReconciliation>> ComputeAsync(IConsentIndex index, CancellationToken ct = default)
    {
        var outcomes = (await index.ListRefineOutcomesAsync(ct)).Select(o => RefineOutcome.FromJson(o.OutcomeJson)).ToList();
        var result = new List<ObjectReconciliation>();
        foreach (var entry in (await index.ListLedgerAsync(ct)).OrderBy(e => e.LandingKey, StringComparer.Ordinal))
        {
            var m = IngestManifest.FromJson(entry.ManifestJson);
            var first = LandingSource.ByName(m.Source).FirstTable.Name;
            long accepted = 0, staged = 0;
            var filtered = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var o in outcomes.Where(o => o.Table == first && m.Partitions.Contains(o.Partition)))
            {
                if (!o.PerObject.TryGetValue(m.ObjectId, out var t)) continue;
                accepted += t.Accepted;
                foreach (var (rule, n) in t.Filtered) { filtered[rule] = filtered.GetValueOrDefault(rule) + n; staged += n; }
                staged += t.Accepted;
            }
            result.Add(new ObjectReconciliation(m.LandingKey, m.Source, m.Status, m.RowsRead, m.RowsQuarantined, accepted, filtered, m.RowsStaged - staged));
        }
        return result;
    }
}
