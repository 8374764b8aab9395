using System.Text.Json;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Twin;

/// <summary>Options of a local replay.</summary>
/// <param name="ShuffleSeed">Deliver events in a random order drawn from this seed (null: sorted by key, customer first).</param>
/// <param name="Duplicate">Deliver every event twice (at-least-once delivery).</param>
/// <param name="Interleave">Recompute partitions while events are still being delivered (true, as a deployment does), or hold
/// the refresh work until every event is delivered (false: like an event source mapping's batching window, far fewer recomputes).</param>
public sealed record ReplayOptions(int? ShuffleSeed = null, bool Duplicate = false, bool Interleave = true);

/// <summary>
/// The local twin of a deployment: the embedded adapters (folder store, SQLite index, in-process queue, JSON catalog)
/// wired to the same ingest function and refine code the Lambdas run. Landing files are "uploaded" into the lake's
/// bucket folder and delivered as S3 ObjectCreated event notifications to <see cref="IngestFunction"/>.
/// </summary>
public sealed class LocalPipeline : IDisposable
{
    private readonly LakeOptions _options;

    /// <summary>Opens (creating when missing) a lake folder.</summary>
    /// <param name="lakeRoot">Lake folder.</param>
    /// <param name="profile">Semantic profile.</param>
    /// <param name="parallelism">Concurrent ingests and concurrent partition recomputes (at least 1).</param>
    /// <param name="queueShuffle">Random order for ready refresh work (tests), or null for FIFO.</param>
    /// <param name="log">Structured log (null: none).</param>
    /// <param name="options">Lake options (the profile given here wins), or null for the defaults.</param>
    /// <param name="cacheBytes">Memory for decoded Parquet shared between ingest and refine (null: <see cref="MemoryBatchCache.DefaultBudget"/>; 0: none).</param>
    /// <param name="refreshDelay">How long refresh work waits before it may start, coalescing work for the same partition
    /// that arrives meanwhile (the local stand-in for the refresh queue's delivery delay; see <see cref="InterleaveRefreshDelay"/>).
    /// Zero (the default) starts it at once: a batch run holds the queue instead.</param>
    /// <exception cref="LakeProfileMismatchException">The lake was built with another profile (its <c>lake.json</c>).</exception>
    public LocalPipeline(string lakeRoot, ConsentProfile profile, int parallelism = 2, Random? queueShuffle = null, ILakeLog? log = null,
        LakeOptions? options = null, long? cacheBytes = null, TimeSpan refreshDelay = default)
    {
        // A new lake records the profile it is built with; an existing one refuses another (tables would mix the two rule sets).
        LakeMetadata.Ensure(lakeRoot, profile);
        _options = (options ?? new LakeOptions()) with { Profile = profile };
        Log = log ?? NullLakeLog.Instance;
        Lake = new LocalLake(lakeRoot);
        Parallelism = Math.Max(1, parallelism);
        Cache = new MemoryBatchCache(cacheBytes ?? MemoryBatchCache.DefaultBudget);
        var graph = RefreshGraph.Stedi;
        Queue = new InProcessWorkQueue(null, Parallelism, queueShuffle, graph.Rank, Lake.WorkJournal, refreshDelay);
        Ingestor = new Ingestor(Lake.Store, Lake.Index, Queue, _options, Log, Cache, graph);
        Refiner = new Refiner(Lake.Store, Lake.Index, Queue, _options, Log, Cache, graph);
        Queue.Attach(async (w, ct) => await Refiner.RefineAsync(w, ct));
        IngestFunction = new IngestFunction(Ingestor, Log);
        Profile = profile;
        // The local catalog (DuckDB views) declares every table up front, as the stack declares the Glue tables.
        foreach (var t in Tables.Published(profile)) Lake.Catalog.EnsureTableAsync(t).GetAwaiter().GetResult();
    }

    /// <summary>
    /// The refresh delay used when refining as events arrive (<c>run --interleave</c>, <c>watch</c>): 250 ms. Long
    /// enough for the files of one upload burst landing in the same hour to be coalesced into one recompute, short
    /// beside a run; the deployed refresh queue's delivery delay plays the same part.
    /// </summary>
    public static readonly TimeSpan InterleaveRefreshDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>The profile.</summary>
    public ConsentProfile Profile { get; }
    /// <summary>Concurrency.</summary>
    public int Parallelism { get; }
    /// <summary>The embedded adapters.</summary>
    public LocalLake Lake { get; }
    /// <summary>Decoded Parquet shared between the steps of this process.</summary>
    public MemoryBatchCache Cache { get; }
    /// <summary>The lake options in force.</summary>
    public LakeOptions Options => _options;
    /// <summary>The refresh queue.</summary>
    public InProcessWorkQueue Queue { get; }
    /// <summary>Domain ingest.</summary>
    public Ingestor Ingestor { get; }
    /// <summary>Domain refine.</summary>
    public Refiner Refiner { get; }
    /// <summary>The Lambda ingest handler over the embedded adapters.</summary>
    public IngestFunction IngestFunction { get; }
    /// <summary>The log.</summary>
    public ILakeLog Log { get; }

    /// <summary>
    /// Maps a file below a landing folder to its landing key: <c>customer/x.json</c> → <c>customer/landing/x.json</c>;
    /// a path already shaped <c>customer/landing/x.json</c> is kept. Null for files outside the three sources.
    /// </summary>
    public static string? LandingKeyFor(string relativePath)
    {
        // Only the platform's separator splits: on Linux a backslash is part of a file name (back\slash.json and
        // back/slash.json are two objects), as it is of an S3 key.
        var parts = relativePath.Replace(Path.DirectorySeparatorChar, '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || LandingSource.All.All(s => s.Name != parts[0])) return null;
        return parts[1] == "landing" && parts.Length > 2 ? string.Join('/', parts) : $"{parts[0]}/landing/{string.Join('/', parts[1..])}";
    }

    /// <summary>
    /// The file, in the lake folder, that stands while a landing folder is being copied into the lake: it holds the
    /// landing folder's full path. A copy cut short (Ctrl+C, kill -9) leaves it, and the lake then lacks landing objects
    /// that no reconciliation can know of; <c>report</c> says so until <c>run --keep</c> with that folder completes the copy.
    /// </summary>
    public const string LandingCopyMarker = "landing-copy-incomplete";

    /// <summary>Records that <paramref name="landingDir"/> is being copied into the lake at <paramref name="lakeRoot"/>.</summary>
    public static void MarkLandingCopyStarted(string lakeRoot, string landingDir) =>
        File.WriteAllText(LandingCopyMarkerIn(lakeRoot), Path.GetFullPath(landingDir) + "\n");

    private static string LandingCopyMarkerIn(string lakeRoot) => Path.Combine(lakeRoot, LandingCopyMarker);

    /// <summary>The landing folder whose copy into the lake at <paramref name="lakeRoot"/> did not finish, or null.</summary>
    public static string? IncompleteLandingCopy(string lakeRoot)
    {
        var path = LandingCopyMarkerIn(lakeRoot);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>Copies every landing file under <paramref name="landingDir"/> into the lake bucket; returns their keys (sorted, customer first).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public async Task<IReadOnlyList<string>> UploadAsync(string landingDir, CancellationToken ct = default)
    {
        if (!Directory.Exists(landingDir)) throw new DirectoryNotFoundException($"landing folder not found: {landingDir}");
        MarkLandingCopyStarted(Lake.Root, landingDir);
        var keys = new List<string>();
        foreach (var (key, file) in LandingFilesByKey(landingDir).OrderBy(p => p.Value, StringComparer.Ordinal))
        {
            // An empty file is put as empty without opening it: a named pipe also reports no length, and opening one
            // would wait for a writer forever.
            await using var s = new FileInfo(file).Length == 0 ? Stream.Null : File.OpenRead(file);
            await Lake.Store.PutAsync(key, s, "application/json", ct);
            keys.Add(key);
        }
        File.Delete(LandingCopyMarkerIn(Lake.Root));
        return keys.OrderBy(k => LandingSource.ForKey(k)!.Kind).ThenBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The landing files of a landing folder by the landing key each is copied to: the files below each source folder
    /// (<c>customer/</c>, <c>accelerometer/</c>, <c>step_trainer/</c>, which may themselves be links to folders), as
    /// <see cref="FolderObjectStore.FilesUnder"/> walks them (links to folders not entered below them). Files outside the source folders are not landing files.
    /// </summary>
    public static Dictionary<string, string> LandingFilesByKey(string landingDir)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var src in LandingSource.All)
        {
            var dir = Path.Combine(landingDir, src.Name);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in FolderObjectStore.FilesUnder(dir))
                if (LandingKeyFor(Path.Combine(src.Name, Path.GetRelativePath(dir, file))) is { } key) result[key] = file;
        }
        return result;
    }

    /// <summary>An S3 event notification (default <c>ObjectCreated:Put</c>) for one key, URL-encoded as S3 sends it.</summary>
    public async Task<string> EventForAsync(string key, CancellationToken ct = default, string eventName = "ObjectCreated:Put")
    {
        var head = await Lake.Store.HeadAsync(key, ct);
        return S3EventBuilder.Notification(Lake.Store.Bucket, key, head?.Size ?? 0, head?.ETag ?? "", eventName);
    }

    /// <summary>Uploads and delivers every landing file, then drains the refresh queue.</summary>
    /// <param name="landingDir">Folder of landing files (<c>customer/</c>, <c>accelerometer/</c>, <c>step_trainer/</c>).</param>
    /// <param name="replay">Order and duplication of deliveries.</param>
    /// <param name="onDelivered">Called after each delivery with (delivered, total).</param>
    /// <param name="ct">Cancellation.</param>
    /// <returns>The ingest outcomes of every delivery.</returns>
    /// <exception cref="AggregateException">A refresh recompute failed.</exception>
    public async Task<IReadOnlyList<RecordOutcome>> ReplayAsync(string landingDir, ReplayOptions replay, Action<int, int>? onDelivered = null, CancellationToken ct = default)
    {
        var keys = (await UploadAsync(landingDir, ct)).ToList();
        var events = new List<string>();
        foreach (var k in keys) events.Add(await EventForAsync(k, ct));
        if (replay.Duplicate) events = events.SelectMany(e => new[] { e, e }).ToList();
        if (replay.ShuffleSeed is { } seed)
        {
            var rng = new Random(seed);
            events = events.OrderBy(_ => rng.Next()).ToList();
        }
        var outcomes = new List<RecordOutcome>();
        var delivered = 0;
        // A batch run holds the refresh work until every event is delivered (a batching window): each partition is
        // then computed once, in the refresh graph's order.
        var hold = replay.Interleave ? null : Queue.Hold();
        try
        {
            await DeliverInOrderAsync(events, async e =>
            {
                var r = await IngestFunction.HandleEventAsync(e, ct);
                lock (outcomes) { outcomes.AddRange(r.Outcomes); onDelivered?.Invoke(++delivered, events.Count); }
            }, ct);
        }
        finally { hold?.Dispose(); }
        await Queue.DrainAsync(ct);
        return outcomes;
    }

    /// <summary>
    /// Runs <paramref name="deliver"/> for each item, at most <see cref="Parallelism"/> at a time, starting them in the
    /// items' order (with one at a time, the order is the items' order). The slot is taken here and each delivery runs
    /// on the pool: a local ingest completes synchronously (file and SQLite I/O) and would otherwise hold this loop until
    /// it ends; taking the slot inside pooled tasks instead lets the pool's LIFO local queue start later items first.
    /// </summary>
    public async Task DeliverInOrderAsync<T>(IReadOnlyList<T> items, Func<T, Task> deliver, CancellationToken ct = default)
    {
        using var gate = new SemaphoreSlim(Parallelism);
        var tasks = new List<Task>(items.Count);
        foreach (var item in items)
        {
            await gate.WaitAsync(ct);
            tasks.Add(Task.Run(async () =>
            {
                try { await deliver(item); }
                finally { gate.Release(); }
            }, ct));
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>Row counts, filters and quarantine totals of the lake as it is now.</summary>
    public async Task<RunSummary> SummarizeAsync(TimeSpan elapsed, IReadOnlyList<RecordOutcome>? outcomes = null, CancellationToken ct = default)
    {
        var summary = await RunSummary.FromIndexAsync(Lake.Index, Lake.Store, Profile, elapsed, null, outcomes, ct);
        summary.Recomputes = Queue.Completed;
        return summary;
    }

    /// <summary>Releases the index.</summary>
    public void Dispose()
    {
        Queue.Dispose();
        Lake.Dispose();
    }
}

/// <summary>The figures a run ends with (also written by <c>--summary-json</c>).</summary>
public sealed class RunSummary
{
    /// <summary>Profile name.</summary>
    public string Profile { get; set; } = "strict";
    /// <summary>Wall time of the run in seconds.</summary>
    public double ElapsedSeconds { get; set; }
    /// <summary>Rows per published table.</summary>
    public SortedDictionary<string, long> Tables { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Per table: input rows filtered by each rule (and flagged rows such as ambiguous_serial_attributed).</summary>
    public SortedDictionary<string, SortedDictionary<string, long>> Filtered { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Records read per source.</summary>
    public SortedDictionary<string, long> RowsRead { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Records quarantined.</summary>
    public long Quarantined { get; set; }
    /// <summary>Records quarantined by reason code.</summary>
    public SortedDictionary<string, long> QuarantinedByReason { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Records accepted after normalisation.</summary>
    public long Normalized { get; set; }
    /// <summary>Landing objects ingested.</summary>
    public long Objects { get; set; }
    /// <summary>Event records delivered.</summary>
    public long Events { get; set; }
    /// <summary>Deliveries recognised as already processed (idempotency key seen).</summary>
    public long AlreadyProcessed { get; set; }
    /// <summary>Deliveries that failed.</summary>
    public long Failed { get; set; }
    /// <summary>Deliveries of objects skipped for their name (not a data file's: <c>.DS_Store</c>, <c>_SUCCESS</c>, …); nothing read.</summary>
    public long Skipped { get; set; }
    /// <summary>Partition recomputes run.</summary>
    public long Recomputes { get; set; }
    /// <summary>(table, partition) pairs holding rows: what a perfectly coalesced run would recompute at least.</summary>
    public long PartitionsWithOutput { get; set; }
    /// <summary>Landing objects whose reconciliation does not balance (0 when every row is accounted for).</summary>
    public long Unbalanced { get; set; }

    /// <summary>
    /// The summary of a lake from its index: row counts (from the refine outcomes, or <paramref name="rowCounts"/> when
    /// the caller counted the Parquet objects itself), rows filtered per rule, ingest totals from the ledger, and the
    /// delivery outcomes when given (test events are not counted as events).
    /// </summary>
    public static async Task<RunSummary> FromIndexAsync(LakeIndex index, IObjectStore store, ConsentProfile profile, TimeSpan elapsed,
        IReadOnlyDictionary<string, long>? rowCounts = null, IReadOnlyList<RecordOutcome>? outcomes = null, CancellationToken ct = default)
    {
        var books = await LakeBookkeeping.LoadAsync(index, store, ct);
        var summary = new RunSummary { Profile = profile.ToString().ToLowerInvariant(), ElapsedSeconds = Math.Round(elapsed.TotalSeconds, 3) };
        foreach (var t in Stedi.Lakehouse.Schema.Tables.Published(profile))
        {
            var mine = books.Outcomes.Where(o => o.Table == t.Name).ToList();
            summary.Tables[t.Name] = rowCounts?.GetValueOrDefault(t.Name) ?? mine.Sum(o => o.RowsOut);
            var f = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var o in mine)
            {
                if (!books.Details.TryGetValue((o.Table, o.Partition), out var d)) continue;
                foreach (var (rule, n) in d.Filtered) f[rule] = f.GetValueOrDefault(rule) + n;
                foreach (var (rule, n) in d.Flagged) f[rule] = f.GetValueOrDefault(rule) + n;
            }
            summary.Filtered[t.Name] = f;
        }
        summary.PartitionsWithOutput = books.Outcomes.Count(o => o.RowsOut > 0);
        foreach (var m in books.Manifests)
        {
            summary.Objects++;
            summary.RowsRead[m.Source] = summary.RowsRead.GetValueOrDefault(m.Source) + m.RowsRead;
            summary.Quarantined += m.RowsQuarantined;
            foreach (var (r, n) in m.QuarantinedByReason) summary.QuarantinedByReason[r] = summary.QuarantinedByReason.GetValueOrDefault(r) + n;
            summary.Normalized += m.RowsNormalized;
        }
        summary.Unbalanced = Reconciliation.Compute(books).Count(r => !r.Balanced);
        if (outcomes is not null)
        {
            var events = outcomes.Where(o => o.Status != "test_event").ToList();
            summary.Events = events.Count;
            summary.AlreadyProcessed = events.Count(o => o.Status == "already_processed");
            summary.Failed = events.Count(o => o.Status is "failed" or "too_large");
            summary.Skipped = events.Count(o => o.Status == "skipped");
        }
        return summary;
    }

    /// <summary>Serialises with snake_case names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
}
