using System.Text;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;

namespace Stedi.Lakehouse.Refine;

/// <summary>One landing object's reconciliation: <c>RowsRead = Quarantined + Accepted + Σ Filtered</c> must hold.</summary>
/// <param name="LandingKey">Decoded landing key.</param>
/// <param name="Source">Source name.</param>
/// <param name="Status">Manifest status: complete, partial, empty or too_large; <c>skipped</c> for an object never read (see <paramref name="SkippedReason"/>).</param>
/// <param name="RowsRead">Records read.</param>
/// <param name="Quarantined">Records quarantined at ingest.</param>
/// <param name="Accepted">Staged records accepted into the source's first table.</param>
/// <param name="Filtered">Staged records filtered, by rule.</param>
/// <param name="Unaccounted">Staged records not yet accounted by any recompute (work still queued), or mismatches.</param>
/// <param name="DuplicateOf">
/// Another landing key that held the same content when this one was ingested and still holds it (a re-sent or copied
/// file), or null. The copy's rows are accounted like any object's: accepted, or filtered (in strict, exact duplicate
/// readings as <c>duplicate_reading</c>, a repeated customer record as <c>superseded_record</c>).
/// </param>
/// <param name="SkippedReason">Why an object under a landing prefix was not read (<c>unsupported object name</c>, <c>folder marker</c>), or null.</param>
public sealed record ObjectReconciliation(string LandingKey, string Source, string Status, long RowsRead, long Quarantined, long Accepted,
    IReadOnlyDictionary<string, long> Filtered, long Unaccounted, string? DuplicateOf = null, string? SkippedReason = null)
{
    /// <summary>The status of an object skipped for its name: no rows read, nothing staged, balanced.</summary>
    public const string SkippedStatus = "skipped";

    /// <summary>The status of a data object under a landing prefix that has no ledger entry: never ingested (its event was lost, or has not run yet). Does not balance.</summary>
    public const string NotIngestedStatus = "not_ingested";

    /// <summary>The status of an ingested object no longer under its landing prefix whose rows were not retracted (its delete event was lost, or has not run yet). Does not balance.</summary>
    public const string NotRetractedStatus = "deleted_not_retracted";

    /// <summary>The status of an ingested object replaced under the same key whose new content was not ingested (its event was lost, or has not run yet). Does not balance.</summary>
    public const string ChangedStatus = "changed_not_ingested";

    /// <summary>Whether every read row is accounted for exactly once, and the object is as the landing prefix holds it (ingested while present, retracted once gone).</summary>
    public bool Balanced => Status is not (NotIngestedStatus or NotRetractedStatus or ChangedStatus) && Unaccounted == 0 && RowsRead == Quarantined + Accepted + Filtered.Values.Sum();
}

/// <summary>
/// A read of the lake's bookkeeping: the ledger, every ingest manifest, every partition outcome and its detail. What
/// the reconciliation, the run summary and the report are computed from.
/// </summary>
public sealed class LakeBookkeeping
{
    private LakeBookkeeping(IReadOnlyList<LedgerEntry> ledger, IReadOnlyList<IngestManifest> manifests, IReadOnlyList<PartitionOutcome> outcomes,
        IReadOnlyDictionary<(string, string), RefineDetail> details, IReadOnlyList<SkippedObject> skipped, IReadOnlyList<SkippedObject> notIngested,
        IReadOnlySet<string> notPresent, IReadOnlySet<string> changed)
    {
        Changed = changed;
        NotIngested = notIngested;
        NotPresent = notPresent;
        Ledger = ledger;
        Manifests = manifests;
        Outcomes = outcomes;
        Details = details;
        Skipped = skipped;
    }

    /// <summary>Every ledger entry (the ingested landing objects, ordered by key).</summary>
    public IReadOnlyList<LedgerEntry> Ledger { get; }

    /// <summary>
    /// Objects under the landing prefixes that ingest skips without reading (names that are not a data file's, folder
    /// markers) and that have no ledger entry, found by listing the prefixes; empty when the load did not list them.
    /// </summary>
    public IReadOnlyList<SkippedObject> Skipped { get; }

    /// <summary>Data objects under the landing prefixes without a ledger entry (never ingested); empty when the load did not list the prefixes.</summary>
    public IReadOnlyList<SkippedObject> NotIngested { get; }

    /// <summary>Ledger keys the landing prefixes no longer hold (deleted, rows not retracted); empty when the load did not list the prefixes.</summary>
    public IReadOnlySet<string> NotPresent { get; }

    /// <summary>Ledger keys whose landing object now has another identity (ETag) than the one ingested; filled only when the load compared identities.</summary>
    public IReadOnlySet<string> Changed { get; }

    /// <summary>The manifest of every ingested landing object (ledger order).</summary>
    public IReadOnlyList<IngestManifest> Manifests { get; }

    /// <summary>Every partition outcome.</summary>
    public IReadOnlyList<PartitionOutcome> Outcomes { get; }

    /// <summary>The detail of each partition's last recompute, by (table, partition).</summary>
    public IReadOnlyDictionary<(string Table, string Partition), RefineDetail> Details { get; }

    /// <summary>Reads the bookkeeping (manifests and details from the store, in parallel).</summary>
    /// <param name="index">The lake's index.</param>
    /// <param name="store">The lake's object store.</param>
    /// <param name="options">
    /// When given, the landing prefixes are listed and the objects ingest skips by these options' name rules
    /// (<see cref="LakeOptions.IsDataObjectName"/>) are reported in <see cref="Skipped"/>; null: no listing.
    /// </param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="compareIdentity">
    /// With <paramref name="options"/>: also compare each listed object's identity with the ledger's, to find objects
    /// replaced in place without an event. Only for unversioned stores, whose ledger identity is the ETag the listing
    /// gives (the local folder store); a versioned S3 bucket's ledger holds version ids, which a listing does not.
    /// </param>
    public static async Task<LakeBookkeeping> LoadAsync(LakeIndex index, IObjectStore store, LakeOptions? options, CancellationToken ct = default, bool compareIdentity = false)
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
        var skipped = new List<SkippedObject>();
        var notIngested = new List<SkippedObject>();
        var notPresent = new HashSet<string>(StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        if (options is not null)
        {
            var identity = ledger.ToDictionary(e => e.LandingKey, e => e.IdempotencyKey, StringComparer.Ordinal);
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var source in LandingSource.All)
                foreach (var o in await store.ListAsync(source.LandingPrefix, ct))
                {
                    present.Add(o.Key);
                    if (identity.TryGetValue(o.Key, out var idem))
                    {
                        if (compareIdentity && o.VersionId is null && !idem.EndsWith(o.ETag, StringComparison.Ordinal)) changed.Add(o.Key);
                        continue;
                    }
                    if (LandingSource.IsFolderMarker(o.Key)) skipped.Add(new SkippedObject(o.Key, source.Name, "folder marker"));
                    else if (!options.IsDataObjectName(o.Key)) skipped.Add(new SkippedObject(o.Key, source.Name, Ingestor.SkippedReason));
                    else notIngested.Add(new SkippedObject(o.Key, source.Name, "not ingested: no ledger entry (its event was lost or has not run)"));
                }
            notPresent.UnionWith(identity.Keys.Where(k => !present.Contains(k)));
        }
        return new LakeBookkeeping(ledger, manifests.Where(m => m is not null).Select(m => m!).ToList(), outcomes, byPartition, skipped, notIngested, notPresent, changed);
    }

    /// <summary>Reads the bookkeeping of the ingested objects only (no listing of the landing prefixes).</summary>
    public static Task<LakeBookkeeping> LoadAsync(LakeIndex index, IObjectStore store, CancellationToken ct = default) => LoadAsync(index, store, null, ct);

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

/// <summary>An object under a landing prefix without a ledger entry: one ingest skips without reading it, or one never ingested.</summary>
/// <param name="LandingKey">Decoded landing key.</param>
/// <param name="Source">Source whose landing prefix holds it.</param>
/// <param name="Reason"><c>unsupported object name</c> or <c>folder marker</c> (skipped), or why it counts as not ingested.</param>
public sealed record SkippedObject(string LandingKey, string Source, string Reason);

/// <summary>Adds up ingest manifests and refine details into the per-object reconciliation (guarantee 3 of the design).</summary>
public static class Reconciliation
{
    /// <summary>
    /// Computes the reconciliation of every landing object: each ingested one, and each one ingest skips for its name
    /// (by <paramref name="options"/>' rules; default options when null), which balances with zero rows.
    /// </summary>
    public static async Task<IReadOnlyList<ObjectReconciliation>> ComputeAsync(LakeIndex index, IObjectStore store, LakeOptions? options = null, CancellationToken ct = default) =>
        Compute(await LakeBookkeeping.LoadAsync(index, store, options ?? new LakeOptions(), ct));

    /// <summary>Computes the reconciliation from a read of the bookkeeping.</summary>
    public static IReadOnlyList<ObjectReconciliation> Compute(LakeBookkeeping books)
    {
        var result = new List<ObjectReconciliation>();
        var duplicateOf = Duplicates(books.Manifests);
        foreach (var m in books.Manifests)
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
            var gone = books.NotPresent.Contains(m.LandingKey);
            var replaced = books.Changed.Contains(m.LandingKey);
            result.Add(new ObjectReconciliation(m.LandingKey, m.Source,
                gone ? ObjectReconciliation.NotRetractedStatus : replaced ? ObjectReconciliation.ChangedStatus : m.Status, m.RowsRead, m.RowsQuarantined,
                accepted, filtered, m.RowsStaged - staged, duplicateOf.GetValueOrDefault(m.LandingKey),
                gone ? "deleted from the landing prefix, rows not retracted (its delete event was lost or has not run)"
                : replaced ? "replaced under the same key, new content not ingested (its event was lost or has not run); the counts are the old content's"
                : null));
        }
        foreach (var s in books.Skipped)
            result.Add(new ObjectReconciliation(s.LandingKey, s.Source, ObjectReconciliation.SkippedStatus, 0, 0, 0, new SortedDictionary<string, long>(), 0, null, s.Reason));
        foreach (var s in books.NotIngested)
            result.Add(new ObjectReconciliation(s.LandingKey, s.Source, ObjectReconciliation.NotIngestedStatus, 0, 0, 0, new SortedDictionary<string, long>(), 0, null, s.Reason));
        result.Sort((a, b) => string.CompareOrdinal(a.LandingKey, b.LandingKey));
        return result;
    }

    /// <summary>
    /// Which ingested object is a copy of which, among the objects that hold the same content now. A copy names the
    /// original it found at ingest, while that original still holds the content; where several hold it and none names
    /// another (copies ingested concurrently, or their original deleted), the first key (ordinal) stands as the
    /// original and the others name it. Empty objects are nobody's copy.
    /// </summary>
    private static Dictionary<string, string> Duplicates(IReadOnlyList<IngestManifest> manifests)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in manifests.Where(m => m.ContentHash.Length > 0 && m.RowsRead > 0).GroupBy(m => m.ContentHash, StringComparer.Ordinal))
        {
            var keys = group.Select(m => m.LandingKey).ToHashSet(StringComparer.Ordinal);
            if (keys.Count < 2) continue;
            foreach (var m in group)
                if (m.DuplicateOf is { } d && d != m.LandingKey && keys.Contains(d)) result[m.LandingKey] = d;
            // Two objects naming each other (one re-uploaded after its copy was ingested): the first key of the cycle stands.
            foreach (var k in keys)
            {
                var path = new List<string>();
                for (var at = k; result.TryGetValue(at, out var next); at = next)
                {
                    var i = path.IndexOf(at);
                    if (i >= 0) { result.Remove(path.Skip(i).Min(StringComparer.Ordinal)!); break; }
                    path.Add(at);
                }
            }
            var roots = keys.Where(k => !result.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
            foreach (var r in roots.Skip(1)) result[r] = roots[0];
        }
        return result;
    }
}
