using System.Diagnostics;
using System.Globalization;
using Stedi.Deployment;

namespace Stedi.Bench;

/// <summary>
/// <c>--scenario NAME</c>: generates a scenario's landing folder and prints where it is; nothing is run yet (the
/// pipeline drivers for these scenarios come with the rebuilt engine).
/// <list type="bullet">
/// <item><c>scaled --scale N</c>: N× the real data (the full-run landing) and the incremental files.</item>
/// <item><c>small-files --files F [--rows-per-file 50]</c>: F accelerometer files in the same two hours, plus the real customers.</item>
/// <item><c>big-hour [--rows 10000000] [--rows-per-file 100000]</c>: one hour of readings over the consenting customers, plus the real customers.</item>
/// <item><c>big-object [--big-object-mb 1024]</c>: one accelerometer landing object of about that size.</item>
/// </list>
/// Common options: <c>--work DIR</c> (default <c>$TMPDIR/stedi-bench</c>), <c>--seed S</c>, <c>--real DIR</c>.
/// </summary>
internal static class Scenarios
{
    private static int Int(Dictionary<string, string> o, string name, int fallback) =>
        o.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static int Run(string scenario, Dictionary<string, string> o) => RunAsync(scenario, o).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string scenario, Dictionary<string, string> o)
    {
        var seed = Int(o, "seed", 42);
        var work = Path.GetFullPath(o.GetValueOrDefault("work", Path.Combine(Path.GetTempPath(), "stedi-bench")));
        var real = Path.GetFullPath(o.GetValueOrDefault("real", Path.Combine("data", "stedi", "landing")));
        Directory.CreateDirectory(work);
        var sw = Stopwatch.StartNew();
        var gen = new Generator(real, seed);
        GeneratedLanding landing;
        switch (scenario)
        {
            case "scaled":
            {
                var scale = Int(o, "scale", 0);
                if (scale < 1) { Console.Error.WriteLine("--scenario scaled needs --scale N (N >= 1)"); return 2; }
                landing = gen.Write(Path.Combine(work, $"landing-x{scale}-s{seed}"), scale);
                var incr = Path.Combine(work, $"incr-x{scale}-s{seed}");
                var (a, c) = gen.WriteIncremental(incr, scale);
                Console.WriteLine($"incremental files: {a} {c}");
                break;
            }
            case "small-files":
            {
                var files = Int(o, "files", 0);
                if (files < 1) { Console.Error.WriteLine("--scenario small-files needs --files F (F >= 1)"); return 2; }
                landing = gen.SmallFiles(Path.Combine(work, $"small-files-{files}-s{seed}"), files, Int(o, "rows-per-file", 50));
                break;
            }
            case "big-hour":
            {
                var rows = o.TryGetValue("rows", out var r) ? long.Parse(r, CultureInfo.InvariantCulture) : 10_000_000L;
                landing = gen.BigHour(Path.Combine(work, $"big-hour-{rows}-s{seed}"), rows, Int(o, "rows-per-file", 100_000));
                break;
            }
            case "big-object":
            {
                var dir = Path.Combine(work, "big");
                var (file, rows, bytes) = gen.WriteBigObject(dir, Int(o, "big-object-mb", 1024));
                landing = new GeneratedLanding(dir, rows, bytes, 1, 0);
                Console.WriteLine($"object: {file}");
                break;
            }
            default:
                Console.Error.WriteLine($"unknown scenario '{scenario}' (scaled, small-files, big-hour, big-object)");
                return 2;
        }
        Console.WriteLine($"{scenario}: {landing.Rows:N0} rows, {landing.Bytes / 1048576.0:N1} MB, {landing.Files} files in {sw.Elapsed.TotalSeconds:N1} s -> {landing.Dir}");
        if (!o.ContainsKey("run")) return 0;
        // --run: the pipeline side of the scenario, in this process (its RSS is the scenario's own).
        var lake = Path.Combine(work, $"lake-{scenario}");
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        System.Text.Json.Nodes.JsonObject result = scenario switch
        {
            "small-files" => await ScenarioDrivers.SmallFilesAsync(landing.Dir, lake, seed,
                double.Parse(o.GetValueOrDefault("delay-seconds", Topology.RefreshDeliveryDelaySeconds.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
                double.Parse(o.GetValueOrDefault("files-per-second", "20"), CultureInfo.InvariantCulture)),
            "big-hour" => await ScenarioDrivers.BigHourAsync(landing.Dir, lake),
            _ => throw new ArgumentException($"--run is not available for scenario '{scenario}'"),
        };
        result["scenario"] = scenario;
        result["loadavg_start"] = load;
        result["loadavg_end"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        var json = result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(json);
        if (o.TryGetValue("json", out var jsonFile)) await File.WriteAllTextAsync(jsonFile, json);
        if (Directory.Exists(lake)) Directory.Delete(lake, true);
        return 0;
    }
}
