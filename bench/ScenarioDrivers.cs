using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;
using Stedi.Twin;

namespace Stedi.Bench;

/// <summary>
/// The pipeline side of the scenarios (<c>--scenario NAME --run</c>), each measured in its own process:
/// <list type="bullet">
/// <item><c>small-files</c>: files land one by one while the refresh work is delivered as the SQS event source mapping
/// delivers it — batches of up to 10, at least once (a share of messages delivered twice), no in-memory coalescing:
/// producers coalesce through the pending marks in the index, the refine function once per (table, partition) per
/// batch, as on AWS — on a simulated clock (<c>--files-per-second</c>, default 20; <c>--delay-seconds</c>, the refresh
/// queue's delivery delay, default the stack's). Reports recomputes, objects and rows read, busy and wall time.</item>
/// <item><c>big-hour</c>: one hour of millions of readings ingested, then its partitions refined with no batch cache (as a
/// Lambda runs), reporting the peak RSS of the refine alone and the slices it took.</item>
/// </list>
/// </summary>
internal static class ScenarioDrivers
{
    /// <summary>Peak RSS (VmHWM) in MB, and a reset of it (Linux: writing 5 to clear_refs).</summary>
    private static double PeakMb() => Rss.PeakMb();

    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Adds up the refine log's own figures.</summary>
    private sealed class CountingLog : ILakeLog
    {
        public long Recomputes, ObjectsRead, RowsRead, Slices, RefineMs, IngestMs;
        public readonly ConcurrentDictionary<string, long> Events = new();

        public void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields)
        {
            Events.AddOrUpdate(eventName, 1, (_, n) => n + 1);
            if (eventName == "refined")
            {
                Interlocked.Increment(ref Recomputes);
                Interlocked.Add(ref ObjectsRead, Convert.ToInt64(fields["objectsRead"], CultureInfo.InvariantCulture));
                Interlocked.Add(ref RowsRead, Convert.ToInt64(fields["rowsRead"], CultureInfo.InvariantCulture));
                Interlocked.Add(ref Slices, Convert.ToInt64(fields["slices"], CultureInfo.InvariantCulture));
                Interlocked.Add(ref RefineMs, Convert.ToInt64(fields["ms"], CultureInfo.InvariantCulture));
            }
            else if (eventName == "ingested") Interlocked.Add(ref IngestMs, Convert.ToInt64(fields["ms"], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// The refresh queue as the SQS FIFO queue and its event source mapping behave, on a simulated clock: producers
    /// mark work pending in the index and send only what they marked (the real <see cref="SqsWorkQueue"/> protocol,
    /// over the local index); a message becomes receivable <c>delaySeconds</c> after it was sent (the queue's
    /// delivery delay); messages are received in batches of up to 10, each delivered at least once.
    /// </summary>
    private sealed class SimulatedSqs(IRefineState state, double delaySeconds) : IWorkQueue
    {
        private readonly List<(RefreshWork Work, double VisibleAt)> _messages = [];
        public long Sent;

        /// <summary>The simulated clock (seconds).</summary>
        public double Now;

        public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default) => EnqueueAsync(work, Guid.NewGuid().ToString("N"), ct);

        public async Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, string producer, CancellationToken ct = default)
        {
            foreach (var w in await state.MarkPendingAsync(work, producer, TimeSpan.FromMinutes(15), ct))
            {
                lock (_messages) _messages.Add((w, Now + delaySeconds));
                Interlocked.Increment(ref Sent);
            }
        }

        public Task StartingAsync(RefreshWork work, CancellationToken ct = default) => state.ClearPendingAsync(work, ct);

        public int Count { get { lock (_messages) return _messages.Count; } }

        /// <summary>Up to 10 receivable messages as one SQS event; <paramref name="duplicate"/> decides which are delivered again later.</summary>
        public string? NextBatch(Func<bool> duplicate)
        {
            var records = new List<object>();
            lock (_messages)
            {
                var again = new List<(RefreshWork, double)>();
                for (var i = 0; i < _messages.Count && records.Count < 10;)
                {
                    var (w, visibleAt) = _messages[i];
                    if (visibleAt > Now) { i++; continue; }
                    _messages.RemoveAt(i);
                    records.Add(new { messageId = Guid.NewGuid().ToString(), body = SqsWorkQueue.FormatBody(w), eventSource = "aws:sqs" });
                    if (duplicate()) again.Add((w, Now)); // at-least-once: the same message seen again in a later batch
                }
                _messages.AddRange(again);
            }
            return records.Count == 0 ? null : JsonSerializer.Serialize(new { Records = records });
        }
    }

    /// <param name="landingDir">The scenario's landing folder.</param>
    /// <param name="lakeRoot">A lake folder (emptied).</param>
    /// <param name="seed">Seed of the duplicate deliveries.</param>
    /// <param name="delaySeconds">The refresh queue's delivery delay (the stack's is 10 s; 0: the worst case).</param>
    /// <param name="filesPerSecond">How fast the files land and are ingested, on the simulated clock.</param>
    public static async Task<JsonObject> SmallFilesAsync(string landingDir, string lakeRoot, int seed, double delaySeconds, double filesPerSecond)
    {
        if (Directory.Exists(lakeRoot)) Directory.Delete(lakeRoot, true);
        var log = new CountingLog();
        using var lake = new LocalLake(lakeRoot);
        var options = new LakeOptions { Profile = ConsentProfile.Strict };
        var queue = new SimulatedSqs(lake.Index.Refine, delaySeconds);
        var ingest = new IngestFunction(new Ingestor(lake.Store, lake.Index, queue, options, log), log);
        var refine = new RefineFunction(new Refiner(lake.Store, lake.Index, queue, options, log), log);
        var rng = new Random(seed);
        var keys = (await UploadAsync(lake, landingDir)).ToList();
        var customers = keys.Where(k => k.StartsWith("customer/", StringComparison.Ordinal)).ToList();
        var files = keys.Except(customers).ToList();

        // Until the queue is empty: the clock moves on by the delay, and everything receivable is refined.
        async Task DrainAsync()
        {
            while (queue.Count > 0)
            {
                queue.Now += Math.Max(delaySeconds, 0.001);
                while (queue.NextBatch(() => rng.NextDouble() < 0.05) is { } batch) await refine.HandleEventAsync(batch);
            }
        }

        foreach (var k in customers) await ingest.HandleEventAsync(await EventAsync(lake, k));
        await DrainAsync();
        var (r0, o0, rr0) = (log.Recomputes, log.ObjectsRead, log.RowsRead);
        var sw = Stopwatch.StartNew();
        // The files land as a burst, filesPerSecond on a simulated clock; after each one the refresh mapping receives
        // every batch that is receivable by then (and the refine is taken to be instantaneous on that clock, the worst
        // case for coalescing). Deterministic: real pollers racing each other gave different counts on every run.
        var (ri0, ii0) = (log.RefineMs, log.IngestMs);
        foreach (var k in files)
        {
            queue.Now += 1 / filesPerSecond;
            await ingest.HandleEventAsync(await EventAsync(lake, k));
            while (queue.NextBatch(() => rng.NextDouble() < 0.05) is { } batch) await refine.HandleEventAsync(batch);
        }
        await DrainAsync();
        var seconds = sw.Elapsed.TotalSeconds;
        var outcomes = await lake.Index.Refine.ListOutcomesAsync();
        return new JsonObject
        {
            ["files"] = files.Count,
            ["delivery_delay_seconds"] = delaySeconds,
            ["files_per_second"] = filesPerSecond,
            ["seconds"] = Math.Round(seconds, 3),
            ["recomputes"] = log.Recomputes - r0,
            ["objects_read"] = log.ObjectsRead - o0,
            ["messages_sent"] = queue.Sent,
            ["refine_busy_seconds"] = Math.Round((log.RefineMs - ri0) / 1000.0, 3),
            ["ingest_busy_seconds"] = Math.Round((log.IngestMs - ii0) / 1000.0, 3),
            ["rows_read_by_refines"] = log.RowsRead - rr0,
            ["accelerometer_trusted_rows"] = outcomes.Where(o => o.Table == Tables.AccelerometerTrusted.Name).Sum(o => o.RowsOut),
            ["compacted_objects"] = (await lake.Store.ListAsync("staged/accelerometer/")).Count(o => o.Key.Contains("/" + LakeKeys.CompactPrefix, StringComparison.Ordinal) && o.Key.EndsWith(".parquet", StringComparison.Ordinal)),
        };
    }

    public static async Task<JsonObject> BigHourAsync(string landingDir, string lakeRoot)
    {
        if (Directory.Exists(lakeRoot)) Directory.Delete(lakeRoot, true);
        var log = new CountingLog();
        // No batch cache: a refine Lambda reads its inputs from S3 (the cache would only hide the refine's own memory).
        using var pipeline = new LocalPipeline(lakeRoot, ConsentProfile.Strict, 2, log: log, cacheBytes: 0);
        var keys = await pipeline.UploadAsync(landingDir);
        var sw = Stopwatch.StartNew();
        using (pipeline.Queue.Hold())
        {
            foreach (var k in keys) await pipeline.IngestFunction.HandleEventAsync(await pipeline.EventForAsync(k));
        }
        var ingestSeconds = sw.Elapsed.TotalSeconds;
        var afterIngest = PeakMb();
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        ResetPeak();
        var baseline = PeakMb();
        sw.Restart();
        await pipeline.Queue.DrainAsync();
        var refineSeconds = sw.Elapsed.TotalSeconds;
        var peak = PeakMb();
        var outcomes = await pipeline.Lake.Index.Refine.ListOutcomesAsync();
        return new JsonObject
        {
            ["rows"] = outcomes.Where(o => o.Table == Tables.AccelerometerTrusted.Name).Sum(o => o.RowsOut),
            ["ingest_seconds"] = Math.Round(ingestSeconds, 3),
            ["ingest_peak_rss_mb"] = afterIngest,
            ["refine_seconds"] = Math.Round(refineSeconds, 3),
            ["refine_baseline_rss_mb"] = baseline,
            ["refine_peak_rss_mb"] = peak,
            ["slices"] = log.Slices,
            ["recomputes"] = log.Recomputes,
            ["slice_rows_budget"] = new LakeOptions().SliceRows,
        };
    }

    private static async Task<List<string>> UploadAsync(LocalLake lake, string landingDir)
    {
        var keys = new List<string>();
        foreach (var file in Directory.EnumerateFiles(landingDir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var key = LocalPipeline.LandingKeyFor(Path.GetRelativePath(landingDir, file))!;
            await using var s = File.OpenRead(file);
            await lake.Store.PutAsync(key, s, "application/json");
            keys.Add(key);
        }
        return keys;
    }

    private static async Task<string> EventAsync(LocalLake lake, string key)
    {
        var head = await lake.Store.HeadAsync(key);
        return S3EventBuilder.Notification(lake.Store.Bucket, key, head?.Size ?? 0, head?.ETag ?? "");
    }
}
