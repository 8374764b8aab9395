using System.Text.Json;
using DuckDB.NET.Data;
using Stedi.Twin;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cases.Tests;

/// <summary>Finds the repository and the failure cases (<c>STEDI_CASES_DIR</c> when set, else the repository's own).</summary>
public static class CasePaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "StediServerless.sln"))) return d.FullName;
        throw new InvalidOperationException($"StediServerless.sln not found above {AppContext.BaseDirectory}");
    }

    public static string CasesRoot { get; } = FindCases();

    private static string FindCases()
    {
        if (Environment.GetEnvironmentVariable("STEDI_CASES_DIR") is { Length: > 0 } other) return Path.GetFullPath(other);
        var inRepo = Path.Combine(RepoRoot, "test", "Stedi.Cases.Tests", "cases");
        if (Directory.Exists(inRepo)) return inRepo;
        throw new InvalidOperationException($"cases folder not found: {inRepo} (or set STEDI_CASES_DIR)");
    }

    public static string Case(string name) => Path.Combine(CasesRoot, name);

    public static string RealLanding => Path.Combine(RepoRoot, "data", "stedi", "landing");
}

/// <summary>A temporary lake with the embedded adapters and the Lambda ingest handler, under the strict profile by default.</summary>
public sealed class CaseRun : IDisposable
{
    private readonly string _root;
    public LocalPipeline P { get; }
    public MemoryLakeLog Log { get; } = new();

    public CaseRun(ConsentProfile profile = ConsentProfile.Strict, LakeOptions? options = null)
    {
        _root = Path.Combine(Path.GetTempPath(), "stedi-case-" + Guid.NewGuid().ToString("N"));
        P = new LocalPipeline(_root, profile, 2, null, Log);
        if (options is not null)
        {
            Ingestor = new Ingestor(P.Lake.Store, P.Lake.Index, P.Queue, options with { Profile = profile }, Log);
            Handler = new IngestFunction(Ingestor, Log);
        }
        else
        {
            Ingestor = P.Ingestor;
            Handler = P.IngestFunction;
        }
    }

    public Ingestor Ingestor { get; private set; }
    public IngestFunction Handler { get; private set; }

    /// <summary>Swaps the handler for one over other options (same lake).</summary>
    public void UseOptions(LakeOptions options)
    {
        Ingestor = new Ingestor(P.Lake.Store, P.Lake.Index, P.Queue, options, Log);
        Handler = new IngestFunction(Ingestor, Log);
    }

    /// <summary>Swaps the handler for one whose store counts reads and writes.</summary>
    public CountingStore UseCountingStore()
    {
        var counting = new CountingStore(P.Lake.Store);
        Ingestor = new Ingestor(counting, P.Lake.Index, P.Queue, new LakeOptions { Profile = P.Profile }, Log);
        Handler = new IngestFunction(Ingestor, Log);
        return counting;
    }

    public string Bucket => P.Lake.Store.BucketFolder;

    /// <summary>Uploads every <c>landing/&lt;key&gt;</c> file of a case under its decoded key.</summary>
    public async Task UploadCaseAsync(string caseName)
    {
        var landing = Path.Combine(CasePaths.Case(caseName), "landing");
        if (!Directory.Exists(landing)) return;
        foreach (var f in Directory.EnumerateFiles(landing, "*", SearchOption.AllDirectories))
        {
            var key = Path.GetRelativePath(landing, f).Replace('\\', '/');
            await using var s = File.OpenRead(f);
            await P.Lake.Store.PutAsync(key, s, "application/json");
        }
    }

    public async Task PutAsync(string key, byte[] body)
    {
        using var ms = new MemoryStream(body);
        await P.Lake.Store.PutAsync(key, ms, "application/json");
    }

    /// <summary>Delivers one event file of the case through the handler and drains refresh work.</summary>
    public async Task<BatchResponse> DeliverAsync(string caseName, string eventFile = "event.json")
    {
        var json = await File.ReadAllTextAsync(Path.Combine(CasePaths.Case(caseName), eventFile));
        return await DeliverJsonAsync(json);
    }

    public async Task<BatchResponse> DeliverJsonAsync(string json)
    {
        var r = await Handler.HandleEventAsync(json);
        await P.Queue.DrainAsync();
        return r;
    }

    /// <summary>Uploads the case, delivers <c>event.json</c>.</summary>
    public async Task<BatchResponse> RunCaseAsync(string caseName)
    {
        await UploadCaseAsync(caseName);
        return await DeliverAsync(caseName);
    }

    public QueryResult Query(string sql) => P.Lake.CreateQueryEngine().Query(sql);

    public long Count(string table) => Convert.ToInt64(Query($"SELECT count(*) FROM {table}").Rows[0][0]);

    public List<string> Strings(string sql) => Query(sql).Rows.Select(r => r[0]?.ToString() ?? "<null>").ToList();

    public List<long> Longs(string sql) => Query(sql).Rows.Select(r => Convert.ToInt64(r[0])).ToList();

    /// <summary>All files below a bucket prefix (relative keys).</summary>
    public List<string> Keys(string prefix)
    {
        var dir = Path.Combine(Bucket, prefix);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Bucket, f).Replace('\\', '/')).Where(k => !k.Contains("/.")).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Every object in the bucket except landing objects.</summary>
    public List<string> OutputKeys() => Keys("").Where(k => !k.Contains("/landing/")).ToList();

    /// <summary>Rows of staged Parquet of a source (DuckDB over the staged files).</summary>
    public long StagedRows(string source, string? where = null)
    {
        var files = Keys($"staged/{source}").Where(k => k.EndsWith(".parquet")).ToList();
        if (files.Count == 0) return 0;
        using var c = new DuckDBConnection("Data Source=:memory:");
        c.Open();
        using var cmd = c.CreateCommand();
        var list = string.Join(",", files.Select(f => "'" + Path.Combine(Bucket, f).Replace("'", "''") + "'"));
        cmd.CommandText = $"SELECT count(*) FROM read_parquet([{list}], union_by_name = true)" + (where is null ? "" : " WHERE " + where);
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    public List<string> StagedFiles(string source) => Keys($"staged/{source}").Where(k => k.EndsWith(".parquet")).Select(k => Path.Combine(Bucket, k)).ToList();

    /// <summary>Quarantine records of a source.</summary>
    public List<QuarantineRecord> Quarantine(string source)
    {
        var list = new List<QuarantineRecord>();
        foreach (var k in Keys($"quarantine/{source}"))
            foreach (var line in File.ReadAllLines(Path.Combine(Bucket, k)))
                if (line.Length > 0) list.Add(JsonSerializer.Deserialize<QuarantineRecord>(line)!);
        return list;
    }

    public List<QuarantineRecord> AllQuarantine() => new[] { "customer", "accelerometer", "step_trainer" }.SelectMany(Quarantine).ToList();

    public async Task<IngestManifest?> ManifestAsync(string key)
    {
        var e = await P.Lake.Index.Ledger.GetAsync(key);
        return e is null ? null : IngestManifest.FromJson(await File.ReadAllTextAsync(P.Lake.Store.PathOf(e.ManifestKey)));
    }

    /// <summary>The reconciliation of every landing object (skipped ones by <paramref name="options"/>' name rules, default options when null).</summary>
    public async Task<IReadOnlyList<ObjectReconciliation>> ReconcileAsync(LakeOptions? options = null) => await Reconciliation.ComputeAsync(P.Lake.Index, P.Lake.Store, options);

    public void Dispose()
    {
        P.Dispose();
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Collects log events in memory (thread-safe).</summary>
public sealed class MemoryLakeLog : ILakeLog
{
    private readonly List<(string Level, string Event, IReadOnlyDictionary<string, object?> Fields)> _events = [];
    public IReadOnlyList<(string Level, string Event, IReadOnlyDictionary<string, object?> Fields)> Events { get { lock (_events) return _events.ToList(); } }
    public void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields) { lock (_events) _events.Add((level, eventName, fields)); }
}

/// <summary>An object store decorator counting reads and writes (proves "ignored before any GetObject").</summary>
public sealed class CountingStore(Stedi.Lakehouse.Ports.IObjectStore inner) : Stedi.Lakehouse.Ports.IObjectStore
{
    private int _heads, _reads, _puts, _deletes;
    public int Heads => _heads;
    public int Reads => _reads;
    public int Puts => _puts;
    public int Deletes => _deletes;
    public string Bucket => inner.Bucket;
    public Task<Stedi.Lakehouse.Ports.ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) { Interlocked.Increment(ref _heads); return inner.HeadAsync(key, ct); }
    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default) { Interlocked.Increment(ref _reads); return inner.OpenReadAsync(key, ct); }
    public Task PutAsync(string key, Stream content, string contentType, CancellationToken ct = default) { Interlocked.Increment(ref _puts); return inner.PutAsync(key, content, contentType, ct); }
    public Task<IReadOnlyList<Stedi.Lakehouse.Ports.ObjectInfo>> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
    public Task DeleteAsync(string key, CancellationToken ct = default) { Interlocked.Increment(ref _deletes); return inner.DeleteAsync(key, ct); }
}
