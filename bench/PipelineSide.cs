using System.Collections.Concurrent;
using System.Diagnostics;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;
using Stedi.Twin;

namespace Stedi.Bench;

/// <summary>
/// The pipeline side: the local twin exactly as <c>stedi run</c> composes it (<see cref="LocalPipeline"/>: folder store,
/// SQLite index, the durable ranked in-process queue, the batch cache, the ingest Lambda handler, the refiner), with
/// the structured log's own timings added up so the run says where its time goes.
/// </summary>
public sealed class PipelineSide : IDisposable
{
    private readonly LocalPipeline _pipeline;
    private readonly TimingLog _log;
    private readonly bool _interleave;

    /// <param name="lakeRoot">Lake folder (created).</param>
    /// <param name="profile">Profile.</param>
    /// <param name="parallelism">Concurrent ingests and concurrent recomputes.</param>
    /// <param name="interleave">Refine while events are still being delivered (as a deployment does), or hold the refresh work until all are delivered (a batch run, the default of <c>stedi run</c>).</param>
    /// <param name="cacheBytes">The batch cache's budget (null: the default of <c>stedi run</c>).</param>
    /// <param name="log">Where the structured log goes besides the timings (<c>--log FILE</c>: to see which work ran when), or null.</param>
    public PipelineSide(string lakeRoot, ConsentProfile profile, int parallelism, bool interleave = false, long? cacheBytes = null, ILakeLog? log = null)
    {
        _log = new TimingLog(log);
        _pipeline = new LocalPipeline(lakeRoot, profile, Math.Max(1, parallelism), log: _log, cacheBytes: cacheBytes,
            refreshDelay: interleave ? LocalPipeline.InterleaveRefreshDelay : TimeSpan.Zero);
        _interleave = interleave;
    }

    /// <summary>The lake's bucket folder (published tables live below it).</summary>
    public string BucketFolder => _pipeline.Lake.Store.BucketFolder;

    /// <summary>Landing key of a file below a landing folder (<c>customer/x.json</c> → <c>customer/landing/x.json</c>).</summary>
    public static string KeyFor(string landingDir, string file) => LocalPipeline.LandingKeyFor(Path.GetRelativePath(landingDir, file))!;

    private async Task<int> DeliverAsync(string key)
    {
        var r = await _pipeline.IngestFunction.HandleEventAsync(await _pipeline.EventForAsync(key));
        return r.Outcomes.Count(o => o.Status is "failed" or "too_large");
    }

    /// <summary>Full run: upload every landing file, deliver every event (parallel), drain the refresh queue.</summary>
    public async Task<Dictionary<string, object>> FullRunAsync(string landingDir)
    {
        var result = new Dictionary<string, object>();
        var sw = Stopwatch.StartNew();
        var keys = await _pipeline.UploadAsync(landingDir);
        result["upload_seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 3);
        sw.Restart();
        var failed = 0;
        var hold = _interleave ? null : _pipeline.Queue.Hold();
        // In the keys' order (customer, accelerometer, step trainer), as stedi run delivers them: pooled tasks that took
        // the slot themselves sometimes delivered the step trainer files first, and the interleaved run's recompute count
        // was bimodal (about 790 or 1,130 at N = 100).
        await _pipeline.DeliverInOrderAsync(keys, async k => Interlocked.Add(ref failed, await DeliverAsync(k)));
        var delivered = sw.Elapsed.TotalSeconds;
        hold?.Dispose();
        await _pipeline.Queue.DrainAsync();
        var total = sw.Elapsed.TotalSeconds;
        result["seconds"] = Math.Round(total, 3);
        result["mode"] = _interleave ? "interleave" : "batch";
        result["all_events_delivered_at_seconds"] = Math.Round(delivered, 3);
        result["drain_tail_seconds"] = Math.Round(total - delivered, 3);
        result["ingest_busy_seconds"] = Math.Round(_log.IngestMs / 1000.0, 3);
        result["ingest_phases_busy_seconds"] = new Dictionary<string, double>
        {
            ["read_parse"] = Math.Round(_log.ReadMs / 1000.0, 3),
            ["stage"] = Math.Round(_log.StageMs / 1000.0, 3),
            ["commit"] = Math.Round(_log.CommitMs / 1000.0, 3),
            ["commit_follow_ups_and_ledger"] = Math.Round(_log.FollowMs / 1000.0, 3),
        };
        result["refine_busy_seconds"] = _log.Refine.OrderBy(p => Array.IndexOf(DuckDbPeer.TableNames, p.Key))
            .ToDictionary(p => p.Key, p => (object)new { seconds = Math.Round(p.Value.Ms / 1000.0, 3), recomputes = p.Value.Count, objects_read = p.Value.Objects });
        result["recomputes"] = _pipeline.Queue.Completed;
        result["partitions_with_output"] = (await _pipeline.Lake.Index.Refine.ListOutcomesAsync()).Count(o => o.RowsOut > 0);
        result["cache_hits"] = _pipeline.Cache.Stats.Hits;
        result["cache_misses"] = _pipeline.Cache.Stats.Misses;
        result["failed_objects"] = failed;
        result["objects"] = keys.Count;
        return result;
    }

    /// <summary>Absorbs one new landing file: upload, deliver its event, drain. Returns (seconds, recomputes run).</summary>
    public async Task<(double Seconds, long Recomputes)> AbsorbAsync(string landingDir, string file)
    {
        var before = _pipeline.Queue.Completed;
        var sw = Stopwatch.StartNew();
        var key = KeyFor(landingDir, file);
        await using (var s = File.OpenRead(file)) await _pipeline.Lake.Store.PutAsync(key, s, "application/json");
        var failed = await DeliverAsync(key);
        await _pipeline.Queue.DrainAsync();
        if (failed > 0) throw new InvalidOperationException($"incremental ingest of {key} failed");
        return (Math.Round(sw.Elapsed.TotalSeconds, 3), _pipeline.Queue.Completed - before);
    }

    /// <summary>
    /// Ingests one landing object alone (no refine: the refresh work is discarded). Returns (seconds, rows read, status,
    /// and the ingest's own phase timings in ms: read and parse, stage, commit).
    /// </summary>
    public static async Task<(double Seconds, long Rows, string Status, (long Read, long Stage, long Commit) PhasesMs)> IngestAloneAsync(string lakeRoot, string file)
    {
        using var lake = new LocalLake(lakeRoot);
        var key = "accelerometer/landing/" + Path.GetFileName(file);
        await using (var s = File.OpenRead(file)) await lake.Store.PutAsync(key, s, "application/json");
        var log = new TimingLog();
        var ingestor = new Ingestor(lake.Store, lake.Index, new DiscardQueue(), new LakeOptions(), log);
        var sw = Stopwatch.StartNew();
        var r = await ingestor.IngestAsync(key);
        return (Math.Round(sw.Elapsed.TotalSeconds, 3), r.Manifest?.RowsRead ?? 0, r.Status.ToString(), (log.ReadMs, log.StageMs, log.CommitMs));
    }

    private sealed class DiscardQueue : IWorkQueue
    {
        public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default) => Task.CompletedTask;
    }

    /// <summary>Adds up the "ingested" and "refined" events' own timings (ms) and objects read.</summary>
    private sealed class TimingLog(ILakeLog? inner = null) : ILakeLog
    {
        public long IngestMs, ReadMs, StageMs, CommitMs, FollowMs;
        public readonly ConcurrentDictionary<string, (long Ms, long Count, long Objects)> Refine = new();

        public void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields)
        {
            inner?.Write(level, eventName, fields);
            if (eventName == "ingested" && fields.TryGetValue("ms", out var ms))
            {
                Interlocked.Add(ref IngestMs, Convert.ToInt64(ms));
                if (fields.TryGetValue("readMs", out var r)) Interlocked.Add(ref ReadMs, Convert.ToInt64(r));
                if (fields.TryGetValue("stageMs", out var st)) Interlocked.Add(ref StageMs, Convert.ToInt64(st));
                if (fields.TryGetValue("commitMs", out var c)) Interlocked.Add(ref CommitMs, Convert.ToInt64(c));
                if (fields.TryGetValue("followUpsMs", out var f)) Interlocked.Add(ref FollowMs, Convert.ToInt64(f));
            }
            else if (eventName == "refined")
            {
                var table = (string)fields["table"]!;
                var t = Convert.ToInt64(fields["ms"]);
                var o = Convert.ToInt64(fields["objectsRead"]);
                Refine.AddOrUpdate(table, (t, 1, o), (_, v) => (v.Ms + t, v.Count + 1, v.Objects + o));
            }
        }
    }

    public void Dispose() => _pipeline.Dispose();
}
