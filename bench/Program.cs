using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using Stedi.Bench;
using Stedi.Lakehouse.Schema;

// stedi-bench: the pipeline against DuckDB on N× the real data, one scale per run (issue 6).
//   --scale N [--json FILE] [--profile strict|rubric] [--work DIR] [--skip-incremental] [--skip-interleave] [--big-object-mb M]
//   [--seed S] [--real DIR] [--parallelism P]
// Scenario data only (generated, not run; prints where it is): --scenario scaled --scale N | small-files --files F
//   [--rows-per-file 50] | big-hour [--rows 10000000] [--rows-per-file 100000] | big-object [--big-object-mb 1024],
//   with [--work DIR] [--seed S] [--real DIR].
// Internal: --side pipeline|duckdb|bigobject (each side runs in its own child process, so peak RSS is its own).
//   --side duckdb --landing DIR --out DIR [--profile P] [--threads T] [--result FILE] runs the peer alone.

var opts = Args.Parse(args);
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (opts.TryGetValue("side", out var side)) return await Sides.RunAsync(side, opts);
if (opts.TryGetValue("scenario", out var scenario)) return Scenarios.Run(scenario, opts);
return await Orchestrator.RunAsync(opts);

namespace Stedi.Bench
{
    internal static class Args
    {
        public static Dictionary<string, string> Parse(string[] args)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
                var name = args[i][2..];
                if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) d[name] = args[++i];
                else d[name] = "true";
            }
            return d;
        }
    }

    internal static class Rss
    {
        /// <summary>Peak resident set of this process (VmHWM) in MB; falls back to the peak working set.</summary>
        public static double PeakMb()
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        return Math.Round(long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0, 1);
            }
            catch (IOException) { }
            return Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1);
        }
    }

    internal static class Sides
    {
        public static async Task<int> RunAsync(string side, Dictionary<string, string> o)
        {
            var result = new JsonObject();
            var strict = o.GetValueOrDefault("profile", "strict") != "rubric";
            switch (side)
            {
                case "duckdb":
                {
                    // Timed inside the peer: reading the JSON, computing and writing the five Parquet files only
                    // (connection open and settings are set-up, reported apart).
                    int? threads = o.TryGetValue("threads", out var th) ? int.Parse(th, CultureInfo.InvariantCulture) : null;
                    var run = DuckDbPeer.Run(o["landing"], strict, o["out"], threads);
                    result["seconds"] = run.Seconds;
                    result["cpu_seconds"] = run.CpuSeconds;
                    result["setup_seconds"] = run.SetupSeconds;
                    result["threads"] = run.Threads;
                    result["peak_rss_mb"] = Rss.PeakMb();
                    result["tables"] = JsonSerializer.SerializeToNode(run.Rows);
                    break;
                }
                case "pipeline":
                {
                    if (Directory.Exists(o["lake"])) Directory.Delete(o["lake"], true);
                    var parallelism = int.Parse(o.GetValueOrDefault("parallelism", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
                    long? cacheBytes = o.TryGetValue("cache-mb", out var cmb) ? long.Parse(cmb, CultureInfo.InvariantCulture) << 20 : null;
                    using var logFile = o.TryGetValue("log", out var logPath) ? new StreamWriter(logPath) : null;
                    using var p = new PipelineSide(o["lake"], strict ? ConsentProfile.Strict : ConsentProfile.Rubric, parallelism, o.ContainsKey("interleave"), cacheBytes,
                        logFile is null ? null : new Stedi.Lakehouse.Logging.JsonLinesLakeLog(logFile));
                    var full = await p.FullRunAsync(o["landing"]);
                    result["peak_rss_mb"] = Rss.PeakMb();
                    result["process_cpu_seconds"] = Math.Round(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, 3);
                    result["gc_pause_seconds"] = Math.Round(GC.GetTotalPauseDuration().TotalSeconds, 3);
                    result["gc_allocated_mb"] = Math.Round(GC.GetTotalAllocatedBytes() / 1048576.0, 1);
                    result["gc_collections"] = $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}";
                    result["jit_seconds"] = Math.Round(System.Runtime.JitInfo.GetCompilationTime().TotalSeconds, 3);
                    result["jit_methods"] = System.Runtime.JitInfo.GetCompiledMethodCount();
                    foreach (var (k, v) in full) result[k] = JsonSerializer.SerializeToNode(v);
                    result["fingerprints"] = Fingerprints(Path.Combine(p.BucketFolder, "*", "{0}", "*", "*.parquet"), strict);
                    AddPartitions(result, "", p.BucketFolder);
                    if (o.TryGetValue("incr-accel", out var ia))
                    {
                        var incrDir = o["incr-dir"];
                        var (s1, r1) = await p.AbsorbAsync(incrDir, ia);
                        var (s2, r2) = await p.AbsorbAsync(incrDir, o["incr-customer"]);
                        result["incremental_accel_seconds"] = s1;
                        result["incremental_accel_recomputes"] = r1;
                        result["incremental_customer_seconds"] = s2;
                        result["incremental_customer_recomputes"] = r2;
                        result["fingerprints_after_incremental"] = Fingerprints(Path.Combine(p.BucketFolder, "*", "{0}", "*", "*.parquet"), strict);
                        AddPartitions(result, "_after_incremental", p.BucketFolder);
                    }
                    break;
                }
                case "bigobject":
                {
                    if (Directory.Exists(o["lake"])) Directory.Delete(o["lake"], true);
                    var baseline = Rss.PeakMb();
                    var (seconds, rows, status, phases) = await PipelineSide.IngestAloneAsync(o["lake"], o["file"]);
                    result["seconds"] = seconds;
                    result["phases_ms"] = new JsonObject { ["read_parse"] = phases.Read, ["stage"] = phases.Stage, ["commit"] = phases.Commit };
                    result["rows"] = rows;
                    result["status"] = status;
                    result["baseline_rss_mb"] = baseline;
                    result["peak_rss_mb"] = Rss.PeakMb();
                    break;
                }
                default:
                    Console.Error.WriteLine($"unknown side '{side}'");
                    return 2;
            }
            var text = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            if (o.TryGetValue("result", out var resultFile)) await File.WriteAllTextAsync(resultFile, text);
            else Console.WriteLine(text);
            return 0;
        }

        /// <summary>(table, partition) pairs holding rows in the lake, in total and per table.</summary>
        private static void AddPartitions(JsonObject result, string suffix, string bucketFolder)
        {
            var byTable = DuckDbPeer.PartitionsWithOutput(bucketFolder);
            result["partitions_with_output" + suffix] = byTable.Values.Sum();
            result["partitions_with_output_by_table" + suffix] = JsonSerializer.SerializeToNode(byTable);
        }

        /// <summary>Fingerprints (rows, time sum, row-hash sum) of the five tables over Parquet files matched by a glob pattern with {0} = table.</summary>
        public static JsonObject Fingerprints(string globPattern, bool strict)
        {
            using var conn = new DuckDBConnection("DataSource=:memory:");
            conn.Open();
            var o = new JsonObject();
            foreach (var t in DuckDbPeer.TableNames)
            {
                var f = DuckDbPeer.Fingerprint(conn, t, string.Format(CultureInfo.InvariantCulture, globPattern, t), strict);
                o[t] = new JsonObject { ["rows"] = f.Rows, ["time_sum"] = f.TimeSum, ["row_hash_sum"] = f.RowHashSum };
                if (f.EmailsNotNormalised is { } n) o[t]!["emails_not_normalised"] = n;
            }
            return o;
        }
    }

    internal static class Orchestrator
    {
        private static string Exe(out List<string> prefix)
        {
            prefix = [];
            var exe = Environment.ProcessPath!;
            if (Path.GetFileNameWithoutExtension(exe) == "dotnet") prefix.Add(typeof(Orchestrator).Assembly.Location);
            return exe;
        }

        private static (JsonObject Result, double WallSeconds) Child(string side, string resultFile, params string[] extra)
        {
            var exe = Exe(out var prefix);
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
            foreach (var a in prefix) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add("--side");
            psi.ArgumentList.Add(side);
            psi.ArgumentList.Add("--result");
            psi.ArgumentList.Add(resultFile);
            foreach (var a in extra) psi.ArgumentList.Add(a);
            if (File.Exists(resultFile)) File.Delete(resultFile);
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(resultFile)) throw new InvalidOperationException($"--side {side} failed with exit code {p.ExitCode}");
            return (JsonNode.Parse(File.ReadAllText(resultFile))!.AsObject(), Math.Round(sw.Elapsed.TotalSeconds, 3));
        }

        /// <summary>The machine's load average (<c>/proc/loadavg</c>), or "?".</summary>
        internal static string LoadAvg() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";

        private static readonly TimeSpan FileSystemSettle = TimeSpan.FromSeconds(35);

        /// <summary>Deletes the lakes that exist; returns the timestamp when it did, or null when there was none.</summary>
        private static long? DeleteLakes(params string[] lakes)
        {
            long? at = null;
            foreach (var l in lakes.Where(Directory.Exists))
            {
                Directory.Delete(l, true);
                at = Stopwatch.GetTimestamp();
            }
            return at;
        }

        private static string Sh(string cmd, string args)
        {
            try
            {
                var psi = new ProcessStartInfo(cmd, args) { RedirectStandardOutput = true, UseShellExecute = false };
                using var p = Process.Start(psi)!;
                var s = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit();
                return s;
            }
            catch (Exception) { return "?"; }
        }

        public static async Task<int> RunAsync(Dictionary<string, string> o)
        {
            if (!o.TryGetValue("scale", out var scaleText) || !int.TryParse(scaleText, out var scale) || scale < 1)
            {
                Console.Error.WriteLine("usage: stedi-bench --scale N [--json FILE] [--profile strict|rubric] [--work DIR] [--skip-incremental] [--skip-interleave] [--big-object-mb M] [--seed S] [--real DIR] [--parallelism P]\n       stedi-bench --scenario scaled|small-files|big-hour|big-object [...] (generate only; see BENCHMARKS.md)\n       stedi-bench --side duckdb --landing DIR --out DIR [--profile P] [--threads T] [--result FILE]");
                return 2;
            }
            var profile = o.GetValueOrDefault("profile", "strict");
            if (profile is not ("strict" or "rubric")) { Console.Error.WriteLine("--profile must be strict or rubric"); return 2; }
            var strict = profile == "strict";
            var seed = int.Parse(o.GetValueOrDefault("seed", "42"), CultureInfo.InvariantCulture);
            var work = Path.GetFullPath(o.GetValueOrDefault("work", Path.Combine(Path.GetTempPath(), "stedi-bench")));
            var real = Path.GetFullPath(o.GetValueOrDefault("real", Path.Combine("data", "stedi", "landing")));
            var bigMb = int.Parse(o.GetValueOrDefault("big-object-mb", "0"), CultureInfo.InvariantCulture);
            var incremental = !o.ContainsKey("skip-incremental");
            Directory.CreateDirectory(work);

            var report = new JsonObject
            {
                ["scale"] = scale, ["profile"] = profile, ["seed"] = seed,
                ["machine"] = new JsonObject
                {
                    ["nproc"] = Environment.ProcessorCount,
                    ["memory"] = Sh("sh", "-c \"free -m | awk '/Mem:/{print $2\\\" MB\\\"}'\""),
                    ["dotnet"] = Environment.Version.ToString(),
                    ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                    ["loadavg_at_start"] = LoadAvg(),
                    // How the bench was built: a composite ReadyToRun publish runs without tiered compilation (BENCHMARKS.md).
                    ["tiered_compilation"] = AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out var tc) ? tc : true,
                    ["executable"] = Environment.ProcessPath,
                },
            };

            // 1. generate (not timed as part of either side)
            var sw = Stopwatch.StartNew();
            var gen = new Generator(real, seed);
            var landing = Path.Combine(work, $"landing-x{scale}-s{seed}");
            var landingInfo = gen.Write(landing, scale);
            var incrDir = Path.Combine(work, $"incr-x{scale}-s{seed}");
            var (incrAccel, incrCustomer) = gen.WriteIncremental(incrDir, scale);
            Console.WriteLine($"generated {landingInfo.Rows:N0} rows, {landingInfo.Bytes / 1048576.0:N1} MB, {landingInfo.Files} files in {sw.Elapsed.TotalSeconds:N1} s -> {landing}");
            report["landing_rows"] = landingInfo.Rows;
            report["landing_bytes"] = landingInfo.Bytes;
            report["landing_files"] = landingInfo.Files;
            report["consent_changes"] = landingInfo.ConsentChanges;

            // 2. the two sides, same run, each in its own process
            var duckOut = Path.Combine(work, $"duckdb-out-x{scale}");
            var lake = Path.Combine(work, $"lake-x{scale}");
            // The previous run's lakes go now, and the pipeline starts at least FileSystemSettle after: ext4 skips inodes
            // freed in the last ~30 s when it creates a file, and the pipeline creating thousands of files right after
            // thousands were deleted measured 15-20 % slower at N = 100 (openat alone 7.6 CPU-s instead of 4.1).
            var deletedAt = DeleteLakes(lake, lake + "-interleave");
            Console.WriteLine("running DuckDB ...");
            var duckLoadStart = LoadAvg();
            var (duck, duckWall) = Child("duckdb", Path.Combine(work, "duckdb.result.json"), "--landing", landing, "--out", duckOut, "--profile", profile);
            var duckLoadEnd = LoadAvg();
            Console.WriteLine($"  DuckDB {duck["seconds"]} s");
            if (deletedAt is { } deletedTicks && Stopwatch.GetElapsedTime(deletedTicks) < FileSystemSettle)
            {
                var wait = FileSystemSettle - Stopwatch.GetElapsedTime(deletedTicks);
                Console.WriteLine($"waiting {wait.TotalSeconds:N0} s after deleting the previous lakes (ext4 slows file creation right after a mass delete)");
                await Task.Delay(wait);
            }
            Console.WriteLine("running pipeline ...");
            var pipeLoadStart = LoadAvg();
            var pipeArgs = new List<string> { "--landing", landing, "--lake", lake, "--profile", profile };
            if (o.TryGetValue("parallelism", out var par)) pipeArgs.AddRange(["--parallelism", par]);
            if (o.ContainsKey("interleave")) pipeArgs.Add("--interleave");
            if (incremental) pipeArgs.AddRange(["--incr-dir", incrDir, "--incr-accel", incrAccel, "--incr-customer", incrCustomer]);
            var (pipe, pipeWall) = Child("pipeline", Path.Combine(work, "pipeline.result.json"), [.. pipeArgs]);
            var pipeLoadEnd = LoadAvg();
            Console.WriteLine($"  pipeline {pipe["seconds"]} s");
            // Refining as events arrive (as a deployment does): a second, fresh lake, for the recomputes it costs.
            JsonObject? inter = null;
            if (!o.ContainsKey("interleave") && !o.ContainsKey("skip-interleave"))
            {
                Console.WriteLine("running pipeline, refining as events arrive ...");
                (inter, _) = Child("pipeline", Path.Combine(work, "pipeline-interleave.result.json"),
                    "--landing", landing, "--lake", lake + "-interleave", "--profile", profile, "--interleave");
                Console.WriteLine($"  pipeline (interleave) {inter["seconds"]} s, {inter["recomputes"]} recomputes");
            }
            // The machine is shared: the load average around each side says how much of the cores it could have had.
            report["machine"]!["loadavg_duckdb"] = new JsonObject { ["start"] = duckLoadStart, ["end"] = duckLoadEnd };
            report["machine"]!["loadavg_pipeline"] = new JsonObject { ["start"] = pipeLoadStart, ["end"] = pipeLoadEnd };

            // 3. outputs equal? counts, time sums and row-hash sums per table
            var duckFp = Sides.Fingerprints(Path.Combine(duckOut, "{0}.parquet"), strict);
            var pipeFp = pipe["fingerprints"]!.AsObject();
            var tables = new JsonObject();
            var equal = true;
            foreach (var t in DuckDbPeer.TableNames)
            {
                var a = pipeFp[t]!; var b = duckFp[t]!;
                var same = a.ToJsonString() == b.ToJsonString();
                equal &= same;
                tables[t] = new JsonObject { ["pipeline"] = a.DeepClone(), ["duckdb"] = b.DeepClone(), ["equal"] = same };
            }
            if (inter is not null)
            {
                var interFp = inter["fingerprints"]!.AsObject();
                var interEqual = DuckDbPeer.TableNames.All(t => interFp[t]!.ToJsonString() == duckFp[t]!.ToJsonString());
                equal &= interEqual;
                var pwo = inter["partitions_with_output"]!.GetValue<int>();
                report["interleave"] = new JsonObject
                {
                    ["outputs_equal"] = interEqual,
                    ["seconds"] = inter["seconds"]!.DeepClone(),
                    ["recomputes"] = inter["recomputes"]!.DeepClone(),
                    ["partitions_with_output"] = pwo,
                    ["recomputes_per_partition_with_output"] = Math.Round(inter["recomputes"]!.GetValue<long>() / (double)Math.Max(1, pwo), 2),
                    ["refine_busy_seconds"] = inter["refine_busy_seconds"]!.DeepClone(),
                };
            }
            report["outputs_equal"] = equal;
            report["tables"] = tables;

            double ps = pipe["seconds"]!.GetValue<double>(), ds = duck["seconds"]!.GetValue<double>();
            report["pipeline_seconds"] = ps;
            report["duckdb_seconds"] = ds;
            report["duckdb_cpu_seconds"] = duck["cpu_seconds"]?.DeepClone();
            report["duckdb_setup_seconds"] = duck["setup_seconds"]?.DeepClone();
            report["duckdb_threads"] = duck["threads"]?.DeepClone();
            report["ratio"] = Math.Round(ps / ds, 2);
            report["pipeline_rows_per_second"] = Math.Round(landingInfo.Rows / ps);
            report["duckdb_rows_per_second"] = Math.Round(landingInfo.Rows / ds);
            report["pipeline_peak_rss_mb"] = pipe["peak_rss_mb"]!.DeepClone();
            report["duckdb_peak_rss_mb"] = duck["peak_rss_mb"]!.DeepClone();
            report["pipeline_upload_seconds"] = pipe["upload_seconds"]!.DeepClone();
            report["pipeline_process_wall_seconds"] = pipeWall;
            report["duckdb_process_wall_seconds"] = duckWall;
            report["pipeline_breakdown"] = new JsonObject
            {
                ["all_events_delivered_at_seconds"] = pipe["all_events_delivered_at_seconds"]!.DeepClone(),
                ["drain_tail_seconds"] = pipe["drain_tail_seconds"]!.DeepClone(),
                ["ingest_busy_seconds"] = pipe["ingest_busy_seconds"]!.DeepClone(),
                ["refine_busy_seconds"] = pipe["refine_busy_seconds"]!.DeepClone(),
                ["recomputes"] = pipe["recomputes"]!.DeepClone(),
                ["partitions_with_output"] = pipe["partitions_with_output"]?.DeepClone(),
                ["ingest_phases_busy_seconds"] = pipe["ingest_phases_busy_seconds"]?.DeepClone(),
                ["process_cpu_seconds"] = pipe["process_cpu_seconds"]?.DeepClone(),
                ["gc_pause_seconds"] = pipe["gc_pause_seconds"]?.DeepClone(),
                ["gc_allocated_mb"] = pipe["gc_allocated_mb"]?.DeepClone(),
                ["jit_seconds"] = pipe["jit_seconds"]?.DeepClone(),
                ["partitions_with_output_by_table"] = pipe["partitions_with_output_by_table"]?.DeepClone(),
                ["objects"] = pipe["objects"]!.DeepClone(),
                ["failed_objects"] = pipe["failed_objects"]!.DeepClone(),
            };

            // 4. incremental absorb vs full recompute; the state after it is checked against DuckDB over landing + the new files
            if (incremental)
            {
                double ia = pipe["incremental_accel_seconds"]!.GetValue<double>(), ic = pipe["incremental_customer_seconds"]!.GetValue<double>();
                report["incremental_accel_seconds"] = ia;
                report["incremental_accel_recomputes"] = pipe["incremental_accel_recomputes"]!.DeepClone();
                report["incremental_customer_seconds"] = ic;
                report["incremental_customer_recomputes"] = pipe["incremental_customer_recomputes"]!.DeepClone();
                report["partitions_with_output_after_incremental"] = pipe["partitions_with_output_after_incremental"]?.DeepClone();
                report["incremental_accel_speedup_vs_pipeline_full"] = Math.Round(ps / ia, 1);
                report["incremental_accel_speedup_vs_duckdb_full"] = Math.Round(ds / ia, 1);
                report["incremental_customer_speedup_vs_pipeline_full"] = Math.Round(ps / ic, 1);
                report["incremental_customer_speedup_vs_duckdb_full"] = Math.Round(ds / ic, 1);
                var after = Path.Combine(work, $"landing-after-x{scale}-s{seed}");
                if (Directory.Exists(after)) Directory.Delete(after, true);
                foreach (var f in Directory.EnumerateFiles(landing, "*.json", SearchOption.AllDirectories).Concat(Directory.EnumerateFiles(incrDir, "*.json", SearchOption.AllDirectories)))
                {
                    var src = f.StartsWith(landing, StringComparison.Ordinal) ? landing : incrDir;
                    var dest = Path.Combine(after, Path.GetRelativePath(src, f));
                    Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                    File.CreateSymbolicLink(dest, f);
                }
                var afterOut = Path.Combine(work, $"duckdb-after-x{scale}");
                DuckDbPeer.Run(after, strict, afterOut);
                var afterFp = Sides.Fingerprints(Path.Combine(afterOut, "{0}.parquet"), strict);
                var pipeAfter = pipe["fingerprints_after_incremental"]!.AsObject();
                var afterEqual = DuckDbPeer.TableNames.All(t => pipeAfter[t]!.ToJsonString() == afterFp[t]!.ToJsonString());
                report["outputs_equal_after_incremental"] = afterEqual;
                report["tables_after_incremental"] = new JsonObject(DuckDbPeer.TableNames.Select(t => KeyValuePair.Create(t,
                    (JsonNode?)new JsonObject { ["pipeline_rows"] = pipeAfter[t]!["rows"]!.DeepClone(), ["duckdb_rows"] = afterFp[t]!["rows"]!.DeepClone() })));
            }

            // 5. one big landing object ingested alone
            if (bigMb > 0)
            {
                var bigDir = Path.Combine(work, "big");
                var (bigFile, bigRows, bigBytes) = gen.WriteBigObject(bigDir, bigMb);
                Console.WriteLine($"big object: {bigRows:N0} rows, {bigBytes / 1048576.0:N0} MB; ingesting ...");
                var (big, _) = Child("bigobject", Path.Combine(work, "bigobject.result.json"), "--file", bigFile, "--lake", Path.Combine(work, "lake-big"));
                report["big_object_mb"] = Math.Round(bigBytes / 1048576.0);
                report["big_object_rows"] = bigRows;
                report["big_object_ingest_seconds"] = big["seconds"]!.DeepClone();
                report["big_object_status"] = big["status"]!.DeepClone();
                report["big_object_rows_read"] = big["rows"]!.DeepClone();
                report["big_object_baseline_rss_mb"] = big["baseline_rss_mb"]!.DeepClone();
                report["big_object_peak_rss_mb"] = big["peak_rss_mb"]!.DeepClone();
                File.Delete(bigFile);
                Directory.Delete(Path.Combine(work, "lake-big"), true);
            }

            Print(report);
            if (o.TryGetValue("json", out var jsonFile))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonFile))!);
                await File.WriteAllTextAsync(jsonFile, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine($"wrote {jsonFile}");
            }
            return equal ? 0 : 1;
        }

        private static void Print(JsonObject r)
        {
            Console.WriteLine();
            if (r["outputs_equal"]!.GetValue<bool>() is false)
            {
                Console.WriteLine("!!!!!!!! OUTPUTS DIFFER: pipeline and DuckDB disagree — figures below are NOT comparable !!!!!!!!");
            }
            Console.WriteLine($"{"table",-26} {"pipeline rows",14} {"duckdb rows",14}  equal");
            foreach (var (t, v) in r["tables"]!.AsObject())
                Console.WriteLine($"{t,-26} {v!["pipeline"]!["rows"],14} {v["duckdb"]!["rows"],14}  {v["equal"]}");
            Console.WriteLine();
            string[] keys = ["scale", "landing_rows", "landing_bytes", "outputs_equal", "pipeline_seconds", "duckdb_seconds", "ratio",
                "pipeline_rows_per_second", "duckdb_rows_per_second", "pipeline_peak_rss_mb", "duckdb_peak_rss_mb", "pipeline_upload_seconds",
                "incremental_accel_seconds", "incremental_customer_seconds", "incremental_accel_speedup_vs_pipeline_full", "incremental_accel_speedup_vs_duckdb_full",
                "incremental_customer_speedup_vs_pipeline_full", "incremental_customer_speedup_vs_duckdb_full", "outputs_equal_after_incremental",
                "big_object_mb", "big_object_rows", "big_object_ingest_seconds", "big_object_peak_rss_mb"];
            foreach (var k in keys)
                if (r[k] is { } v) Console.WriteLine($"{k,-48} {v.ToJsonString()}");
            Console.WriteLine($"{"pipeline_breakdown",-48} {r["pipeline_breakdown"]!.ToJsonString()}");
            if (r["interleave"] is { } il) Console.WriteLine($"{"interleave (refining as events arrive)",-48} {il.ToJsonString()}");
            Console.WriteLine($"{"loadavg duckdb (start / end)",-48} {r["machine"]!["loadavg_duckdb"]!["start"]} / {r["machine"]!["loadavg_duckdb"]!["end"]}");
            Console.WriteLine($"{"loadavg pipeline (start / end)",-48} {r["machine"]!["loadavg_pipeline"]!["start"]} / {r["machine"]!["loadavg_pipeline"]!["end"]}");
        }
    }
}
