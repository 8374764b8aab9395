using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Bench;

/// <summary>
/// The pipeline side: the embedded adapters wired exactly as <c>LocalPipeline</c> wires them (folder store, SQLite
/// index, in-process queue, ingest Lambda handler, refiner), with a stopwatch around every ingest and every
/// partition recompute so the run says where its time goes.
/// </summary>
public sealed class PipelineSide : IDisposable
{
    private readonly LocalLake _lake;
    private readonly InProcessWorkQueue _queue;
    private readonly IngestFunction _function;
    private readonly int _parallelism;
    private readonly ConcurrentDictionary<string, (long Ticks, long Count)> _refine = new();
    private long _ingestTicks;

    public PipelineSide(string lakeRoot, ConsentProfile profile, int parallelism)
    {
        var options = new LakeOptions { Profile = profile };
        _parallelism = Math.Max(1, parallelism);
        _lake = new LocalLake(lakeRoot);
        _queue = new InProcessWorkQueue(null, _parallelism);
        var ingestor = new Ingestor(_lake.Store, _lake.Index, _queue, options, NullLakeLog.Instance);
        var refiner = new Refiner(_lake.Store, _lake.Index, _queue, _lake.Catalog, options, NullLakeLog.Instance);
        _queue.Attach(async (w, ct) =>
        {
            var t0 = Stopwatch.GetTimestamp();
            await refiner.RefineAsync(w, ct);
            var dt = Stopwatch.GetTimestamp() - t0;
            _refine.AddOrUpdate(w.Table, (dt, 1), (_, v) => (v.Ticks + dt, v.Count + 1));
        });
        _function = new IngestFunction(ingestor, NullLakeLog.Instance);
    }

    /// <summary>The lake's bucket folder (published tables live below it).</summary>
    public string BucketFolder => _lake.Store.BucketFolder;

    /// <summary>Landing key of a file below a landing folder (<c>customer/x.json</c> → <c>customer/landing/x.json</c>).</summary>
    public static string KeyFor(string landingDir, string file)
    {
        var rel = Path.GetRelativePath(landingDir, file).Replace('\\', '/').Split('/');
        return $"{rel[0]}/landing/{string.Join('/', rel[1..])}";
    }

    private async Task<string> EventForAsync(string key)
    {
        var head = await _lake.Store.HeadAsync(key);
        return S3EventBuilder.Notification(_lake.Store.Bucket, key, head?.Size ?? 0, head?.ETag ?? "");
    }

    private async Task<List<string>> UploadAsync(string landingDir)
    {
        var keys = new List<string>();
        foreach (var file in Directory.EnumerateFiles(landingDir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var key = KeyFor(landingDir, file);
            await using var s = File.OpenRead(file);
            await _lake.Store.PutAsync(key, s, "application/json");
            keys.Add(key);
        }
        return keys.OrderBy(k => LandingSource.ForKey(k)!.Kind).ThenBy(k => k, StringComparer.Ordinal).ToList();
    }

    private async Task<int> DeliverAsync(string key)
    {
        var e = await EventForAsync(key);
        var t0 = Stopwatch.GetTimestamp();
        var r = await _function.HandleEventAsync(e);
        Interlocked.Add(ref _ingestTicks, Stopwatch.GetTimestamp() - t0);
        return r.Outcomes.Count(o => o.Status is "failed" or "too_large");
    }

    /// <summary>Full run: upload every landing file, deliver every event (parallel), drain the refresh queue.</summary>
    public async Task<Dictionary<string, object>> FullRunAsync(string landingDir)
    {
        var result = new Dictionary<string, object>();
        var sw = Stopwatch.StartNew();
        var keys = await UploadAsync(landingDir);
        result["upload_seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 3);
        sw.Restart();
        var failed = 0;
        using var gate = new SemaphoreSlim(_parallelism);
        await Task.WhenAll(keys.Select(async k =>
        {
            await gate.WaitAsync();
            try { Interlocked.Add(ref failed, await DeliverAsync(k)); }
            finally { gate.Release(); }
        }));
        var delivered = sw.Elapsed.TotalSeconds;
        await _queue.DrainAsync();
        var total = sw.Elapsed.TotalSeconds;
        result["seconds"] = Math.Round(total, 3);
        result["all_events_delivered_at_seconds"] = Math.Round(delivered, 3);
        result["drain_tail_seconds"] = Math.Round(total - delivered, 3);
        result["ingest_busy_seconds"] = Math.Round(Stopwatch.GetElapsedTime(0, _ingestTicks).TotalSeconds, 3);
        result["refine_busy_seconds"] = _refine.OrderBy(p => Array.IndexOf(DuckDbPeer.TableNames, p.Key))
            .ToDictionary(p => p.Key, p => (object)new { seconds = Math.Round(Stopwatch.GetElapsedTime(0, p.Value.Ticks).TotalSeconds, 3), recomputes = p.Value.Count });
        result["recomputes"] = _queue.Completed;
        result["failed_objects"] = failed;
        result["objects"] = keys.Count;
        return result;
    }

    /// <summary>Absorbs one new landing file: upload, deliver its event, drain. Returns (seconds, recomputes run).</summary>
    public async Task<(double Seconds, long Recomputes)> AbsorbAsync(string landingDir, string file)
    {
        var before = _queue.Completed;
        var sw = Stopwatch.StartNew();
        var key = KeyFor(landingDir, file);
        await using (var s = File.OpenRead(file)) await _lake.Store.PutAsync(key, s, "application/json");
        var failed = await DeliverAsync(key);
        await _queue.DrainAsync();
        if (failed > 0) throw new InvalidOperationException($"incremental ingest of {key} failed");
        return (Math.Round(sw.Elapsed.TotalSeconds, 3), _queue.Completed - before);
    }

    /// <summary>Ingests one landing object alone (no refine: the refresh work is discarded). Returns (seconds, rows read).</summary>
    public static async Task<(double Seconds, long Rows, string Status)> IngestAloneAsync(string lakeRoot, string file)
    {
        using var lake = new LocalLake(lakeRoot);
        var key = "accelerometer/landing/" + Path.GetFileName(file);
        await using (var s = File.OpenRead(file)) await lake.Store.PutAsync(key, s, "application/json");
        var ingestor = new Ingestor(lake.Store, lake.Index, new DiscardQueue(), new LakeOptions(), NullLakeLog.Instance);
        var sw = Stopwatch.StartNew();
        var r = await ingestor.IngestAsync(key);
        return (Math.Round(sw.Elapsed.TotalSeconds, 3), r.Manifest?.RowsRead ?? 0, r.Status.ToString());
    }

    private sealed class DiscardQueue : IWorkQueue
    {
        public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default) => Task.CompletedTask;
    }

    public void Dispose()
    {
        _queue.Dispose();
        _lake.Dispose();
    }
}
