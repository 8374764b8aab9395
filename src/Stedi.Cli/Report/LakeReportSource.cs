using System.Globalization;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli.Report;

/// <summary>
/// Gathers a <see cref="ReportModel"/> from a local lake: the reconciliation (<see cref="Reconciliation"/> over the
/// index's ledger and refine outcomes), the quarantine reasons of each object (its ingest manifest) and the rows per
/// table and partition (DuckDB over the lake's Parquet). The one place that knows where these facts are stored.
/// </summary>
internal static class LakeReportSource
{
    /// <summary>Reads the report of the lake in <paramref name="lakeRoot"/>.</summary>
    /// <exception cref="UsageException">The folder holds no lake.</exception>
    public static async Task<ReportModel> GatherAsync(string lakeRoot, CancellationToken ct = default)
    {
        if (!LakeProfiles.Exists(lakeRoot))
            throw new UsageException($"no lake in {ShownPath.Of(lakeRoot)} (no lake-index.sqlite): run `stedi run` first (from the repository root, or with --landing DIR), or pass --lake DIR");
        LakeMetadata? meta;
        try { meta = LakeMetadata.Read(lakeRoot); }
        catch (InvalidDataException e) { throw new UsageException(e.Message); }

        using var lake = new LocalLake(lakeRoot);
        // The landing prefixes are listed so objects skipped for their name appear too (by the same settings ingest used).
        var books = await LakeBookkeeping.LoadAsync(lake.Index, lake.Store, IngestSettingsEnvironment.Options(), ct, compareIdentity: true);
        var reconciliation = Reconciliation.Compute(books);
        var quarantineReasons = new Dictionary<string, IReadOnlyDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var m in books.Manifests) quarantineReasons[m.LandingKey] = m.QuarantinedByReason;

        var objects = reconciliation.Select(r =>
        {
            var reasons = quarantineReasons.GetValueOrDefault(r.LandingKey) ?? new SortedDictionary<string, long>();
            var unaccounted = r.RowsRead - r.Quarantined - r.Accepted - r.Filtered.Values.Sum();
            return new ObjectRow(r.LandingKey, r.Source, r.Status, r.RowsRead, r.Accepted, r.Filtered, r.Quarantined, reasons,
                unaccounted != 0 ? unaccounted : r.Unaccounted, r.Balanced, r.DuplicateOf, r.SkippedReason);
        }).ToList();

        var sources = LandingSource.All.Select(src =>
        {
            var mine = objects.Where(o => o.Source == src.Name).ToList();
            return new SourceFlow(src.Name, src.FirstTable.Name, mine.Count, mine.Sum(o => o.RowsRead), mine.Sum(o => o.Accepted),
                Sum(mine.Select(o => o.Filtered)), mine.Sum(o => o.Quarantined), Sum(mine.Select(o => o.QuarantinedByReason)), mine.Sum(o => o.Unaccounted));
        }).ToList();

        var profile = meta?.ConsentProfile ?? ConsentProfile.Strict;
        var engine = lake.CreateQueryEngine();
        var tables = new List<TableRows>();
        foreach (var t in Stedi.Lakehouse.Schema.Tables.Published(profile))
        {
            var key = Ident(t.PartitionKey);
            var page = engine.QueryScript($"SELECT {key}, count(*) FROM {Ident(t.Name)} GROUP BY {key} ORDER BY {key}");
            var partitions = page.Rows.Select(r => new PartitionRows(r[0] as string ?? "", Convert.ToInt64(r[1], CultureInfo.InvariantCulture))).ToList();
            tables.Add(new TableRows(t.Name, t.PartitionKey, partitions.Sum(p => p.Rows), partitions));
        }

        var pending = lake.WorkJournal.Load().Select(w => new PendingRefresh(w.Work.Table, w.Work.Partition, w.State.ToString().ToLowerInvariant()))
            .OrderBy(w => w.Table, StringComparer.Ordinal).ThenBy(w => w.Partition, StringComparer.Ordinal).ToList();

        return new ReportModel
        {
            PendingWork = pending,
            Lake = lake.Root,
            Profile = meta?.Profile,
            SchemaVersion = meta?.SchemaVersion,
            GeneratedAt = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            StediVersion = StediVersion.Value,
            Totals = new Totals(objects.Count, objects.Sum(o => o.RowsRead), objects.Sum(o => o.Accepted), objects.Sum(o => o.FilteredTotal),
                objects.Sum(o => o.Quarantined), objects.Sum(o => o.Unaccounted), objects.Count(o => !o.Balanced), objects.Count(o => o.Status == ObjectReconciliation.SkippedStatus)),
            Objects = objects,
            Sources = sources,
            Tables = tables,
        };
    }

    private static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static SortedDictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> maps)
    {
        var sum = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var m in maps)
            foreach (var (k, v) in m) sum[k] = sum.GetValueOrDefault(k) + v;
        return sum;
    }
}
