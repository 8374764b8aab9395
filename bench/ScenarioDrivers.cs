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
/// batch, as on AWS. Reports recomputes, objects read and time.</item>
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
        public long Recomputes, ObjectsRead, Slices, RefineMs, IngestMs;
        public readonly ConcurrentDictionary<string, long> Events = new();

        public void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields)
        {
            Events.AddOrUpdate(eventName, 1, (_, n) => n + 1);
            if (eventName == "refined")
            {
                Interlocked.Increment(ref Recomputes);
                Interlocked.Add(ref ObjectsRead, Convert.ToInt64(fields["objectsRead"], CultureInfo.InvariantCulture));
                Interlocked.Add(ref Slices, Convert.ToInt64(fields["slices"], CultureInfo.InvariantCulture));
                Interlocked.Add(ref RefineMs, Convert.ToInt64(fields["ms"], CultureInfo.InvariantCulture));
            }
            else if (eventName == "ingested") Interlocked.Add(ref IngestMs, Convert.ToInt64(fields["ms"], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// The refresh queue as the SQS FIFO queue and its event source mapping behave: producers mark work pending in the
    /// index and send only what they marked (the real <see cref="SqsWorkQueue"/> protocol, over the local index);
    /// messages are received in batches of up to 10, each delivered at least once.
    /// </summary>
    private sealed class SimulatedSqs(IRefineState state) : IWorkQueue
    {
        private readonly ConcurrentQueue<RefreshWork> _messages = new();
        public long Sent;

        public Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, CancellationToken ct = default) => EnqueueAsync(work, Guid.NewGuid().ToString("N"), ct);

        public async Task EnqueueAsync(IReadOnlyCollection<RefreshWork> work, string producer, CancellationToken ct = default)
        {
            foreach (var w in await state.MarkPendingAsync(work, producer, TimeSpan.FromMinutes(15), ct))
            {
                _messages.Enqueue(w);
                Interlocked.Increment(ref Sent);
            }
        }

        public Task StartingAsync(RefreshWork work, CancellationToken ct = default) => state.ClearPendingAsync(work, ct);

        public int Count => _messages.Count;

        /// <summary>Up to 10 messages as one SQS event; <paramref name="duplicate"/> decides which are delivered again later.</summary>
        public string? NextBatch(Func<bool> duplicate)
        {
            var records = new List<object>();
            var again = new List<RefreshWork>();
            while (records.Count < 10 && _messages.TryDequeue(out var w))
            {
                records.Add(new { messageId = Guid.NewGuid().ToString(), body = SqsWorkQueue.FormatBody(w), eventSource = "aws:sqs" });
                if (duplicate()) again.Add(w);
            }
            foreach (var w in again) _messages.Enqueue(w); // at-least-once: the same message seen in a later batch
            return records.Count == 0 ? null : JsonSerializer.Serialize(new { Records = records });
        }
    }

    public static async Task<JsonObject> SmallFilesAsync(string landingDir, string lakeRoot, int seed)
    {
        if (Directory.Exists(lakeRoot)) Directory.Delete(lakeRoot, true);
        var log = new CountingLog();
        using var lake = new LocalLake(lakeRoot);
        var options = new LakeOptions { Profile = ConsentProfile.Strict };
        var queue = new SimulatedSqs(lake.Index.Refine);
        var ingest = new IngestFunction(new Ingestor(lake.Store, lake.Index, queue, options, log), log);
        var refine = new RefineFunction(new Refiner(lake.Store, lake.Index, queue, options, log), log);
        var rng = new Random(seed);
        var keys = (await UploadAsync(lake, landingDir)).ToList();
        var customers = keys.Where(k => k.StartsWith("customer/", StringComparison.Ordinal)).ToList();
        var files = keys.Except(customers).ToList();

        async Task DrainAsync()
        {
            while (queue.NextBatch(() => rng.NextDouble() < 0.05) is { } batch) await refine.HandleEventAsync(batch);
        }

        foreach (var k in customers) await ingest.HandleEventAsync(await EventAsync(lake, k));
        await DrainAsync();
        var (r0, o0) = (log.Recomputes, log.ObjectsRead);
        var sw = Stopwatch.StartNew();
        // The files land as a burst; the landing mapping ingests them one after another while the refresh mapping polls
        // the queue at the same time, as on AWS: a refine that takes longer lets more ingests coalesce into its next run.
        var ingesting = true;
        var ingestTask = Task.Run(async () =>
        {
            try { foreach (var k in files) await ingest.HandleEventAsync(await EventAsync(lake, k)); }
            finally { Volatile.Write(ref ingesting, false); }
        });
        var refineTask = Task.Run(async () =>
        {
            while (true)
            {
                var more = Volatile.Read(ref ingesting);
                if (queue.NextBatch(() => rng.NextDouble() < 0.05) is { } batch) { await refine.HandleEventAsync(batch); continue; }
                if (!more) break;
                await Task.Delay(20); // an empty receive: the mapping polls again
            }
        });
        await Task.WhenAll(ingestTask, refineTask);
        await DrainAsync();
        var seconds = sw.Elapsed.TotalSeconds;
        var outcomes = await lake.Index.Refine.ListOutcomesAsync();
        return new JsonObject
        {
            ["files"] = files.Count,
            ["seconds"] = Math.Round(seconds, 3),
            ["recomputes"] = log.Recomputes - r0,
            ["objects_read"] = log.ObjectsRead - o0,
            ["messages_sent"] = queue.Sent,
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
