using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Stedi.Cli.Tests;

/// <summary>
/// Issue 9 at the command line: a landing folder with nothing to ingest is a usage error before the lake is touched;
/// the time window and the data suffixes are options (or the functions' environment variables); objects skipped for
/// their name and re-sent copies show in the run summary and in <c>stedi report</c>.
/// </summary>
[Collection(SmallLakeCollection.Name)]
public sealed class BadInputRoundTwoCliTests(SmallLake small)
{
    private static readonly string Expected = "customer/, accelerometer/, step_trainer/";

    private static void AssertLakeIntact(string lake)
    {
        Assert.True(File.Exists(Path.Combine(lake, "lake.json")));
        var report = Stedi.Run("report", "--lake", lake, "--format", "csv");
        Assert.True(report.ExitCode == 0, report.ToString());
        Assert.StartsWith("all 4 landing objects balance", report.Stderr);
    }

    [Fact]
    public void Run_on_the_parent_of_the_landing_folder_names_the_folders_expected_suggests_the_path_and_leaves_the_lake()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var parent = Path.Combine(tmp.Path, "data");
        SmallLake.WriteLanding(Path.Combine(parent, "landing"));

        var r = Stedi.Run("run", "--landing", parent, "--lake", lake);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal("", r.Stdout);
        Assert.Contains($"landing folder {parent} has nothing to ingest: it holds none of the folders {Expected} (one per landing source, each holding that source's JSON files); " +
                        $"{Path.Combine(parent, "landing")} holds them: pass --landing {Path.Combine(parent, "landing")}", r.Stderr.Replace("\n", ""));
        AssertLakeIntact(lake);
    }

    [Fact]
    public void Run_on_a_folder_whose_subfolders_are_not_sources_names_them_and_leaves_the_lake()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var landing = Path.Combine(tmp.Path, "exports");
        Directory.CreateDirectory(Path.Combine(landing, "customers"));
        Directory.CreateDirectory(Path.Combine(landing, "2024-06"));
        File.WriteAllText(Path.Combine(landing, "customers", "customer.json"), "{}\n");

        var r = Stedi.Run("run", "--landing", landing, "--lake", lake);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"landing folder {landing} has nothing to ingest: it holds none of the folders {Expected} (one per landing source, each holding that source's JSON files); it holds 2024-06/, customers/",
            r.Stderr.Replace("\n", ""));
        AssertLakeIntact(lake);
    }

    [Fact]
    public void A_landing_file_that_cannot_be_read_is_a_usage_error_before_the_lake_is_touched()
    {
        // A symbolic link to nothing once failed the run halfway through copying the landing folder (exit 1, a raw
        // FileNotFoundException), after the lake was wiped, with nothing ingested.
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var landing = Path.Combine(tmp.Path, "landing");
        Directory.CreateDirectory(Path.Combine(landing, "customer"));
        File.WriteAllText(Path.Combine(landing, "customer", "good.json"), "{}\n");
        var dangling = Path.Combine(landing, "customer", "d.json");
        File.CreateSymbolicLink(dangling, Path.Combine(tmp.Path, "nonexistent.json"));
        var r = Stedi.Run("run", "--landing", landing, "--lake", lake);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"cannot read landing file(s): {dangling} (a symbolic link to {Path.Combine(tmp.Path, "nonexistent.json")}, which does not exist) — fix or move them, then run again",
            r.Stderr.Replace("\n", ""));
        AssertLakeIntact(lake);
    }

    [Fact]
    public void A_named_pipe_in_the_landing_folder_is_an_empty_object_not_a_hang()
    {
        // Opening a named pipe waits for a writer: `run` once hung there for good.
        using var tmp = new TempFolder();
        var landing = Path.Combine(tmp.Path, "landing");
        Directory.CreateDirectory(Path.Combine(landing, "customer"));
        File.WriteAllText(Path.Combine(landing, "customer", "good.json"),
            "{\"email\":\"a@b.c\",\"lastUpdateDate\":1655564000000,\"shareWithResearchAsOfDate\":1655564000000}\n");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(landing, "customer", "pipe.json")])) mkfifo.WaitForExit();
        var lake = Path.Combine(tmp.Path, "lake");
        var r = Stedi.Run("run", "--landing", landing, "--lake", lake);
        Assert.True(r.ExitCode == 0, r.ToString());
        var report = Stedi.Run("report", "--lake", lake, "--format", "csv");
        Assert.True(report.ExitCode == 0, report.ToString());
        Assert.Contains("customer/landing/pipe.json,customer,empty,0,0,{},0,{},0,true,,\n", report.Stdout);
    }

    [Fact]
    public void Run_on_source_folders_without_files_is_a_usage_error_too()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var landing = Path.Combine(tmp.Path, "landing");
        Directory.CreateDirectory(Path.Combine(landing, "customer"));
        var r = Stedi.Run("run", "--landing", landing, "--lake", lake);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"landing folder {landing} has nothing to ingest: customer/ hold(s) no files", r.Stderr);
        AssertLakeIntact(lake);
    }

    [Theory]
    [InlineData("--time-window 2015-01-01", "--time-window must be FROM..TO (either side may be empty), not '2015-01-01'")]
    [InlineData("--time-window soon..", "--time-window soon..: 'soon' is not a time: expected an ISO 8601 date")]
    [InlineData("--time-window 2030-01-01..2020-01-01", "the time window is empty: its start (2030-01-01T00:00:00.000Z) is not before its end (2020-01-01T00:00:00.000Z)")]
    [InlineData("--data-suffixes json", "--data-suffixes json: 'json' does not start with '.' followed by a name ending (e.g. .json)")]
    [InlineData("env STEDI_TIME_WINDOW_MIN=last-year", "STEDI_TIME_WINDOW_MIN must be an ISO 8601 date or date-time in UTC")]
    [InlineData("env STEDI_DATA_SUFFIXES=.json,.d/jsonl", "STEDI_DATA_SUFFIXES must be a comma-separated list of name endings such as .json,.jsonl,.json.gz: '.d/jsonl' holds a slash or a space")]
    public void A_setting_that_does_not_parse_is_a_usage_error_before_anything_runs(string setting, string message)
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var parts = setting.Split(' ', 2);
        var env = new Dictionary<string, string?>();
        var args = new List<string> { "run", "--landing", small.Landing, "--lake", lake };
        if (parts[0] == "env") { var kv = parts[1].Split('=', 2); env[kv[0]] = kv[1]; }
        else args.AddRange(parts);
        var r = Stedi.RunIn(Repo.Root, null, [.. args], env);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(message, r.Stderr.Replace("\n", ""));
        AssertLakeIntact(lake);

        // watch reads the same settings.
        var w = Stedi.RunIn(Repo.Root, null, ["watch", "--once", "--lake", lake, .. (parts[0] == "env" ? [] : parts)], env);
        Assert.True(w.ExitCode == 2, w.ToString());
        Assert.Contains(message, w.Stderr.Replace("\n", ""));
    }

    [Fact]
    public void Run_skips_objects_that_are_not_data_and_report_lists_them_and_the_copy_of_a_resent_file()
    {
        using var tmp = new TempFolder();
        var landing = Path.Combine(tmp.Path, "landing");
        SmallLake.WriteLanding(landing);
        File.WriteAllText(Path.Combine(landing, "accelerometer", "README.txt"), "readings from the phone app\n");
        File.WriteAllText(Path.Combine(landing, "customer", ".DS_Store"), "\0\0\0\u0001Bud1");
        File.WriteAllText(Path.Combine(landing, "step_trainer", "_SUCCESS"), "");
        File.Copy(Path.Combine(landing, "accelerometer", "damaged.json"), Path.Combine(landing, "accelerometer", "damaged-resent.json"));
        // An array of three readings: one good, one in seconds, one from 2015 (inside the default window, before the one given below).
        File.WriteAllText(Path.Combine(landing, "accelerometer", "array.jsonl"),
            """[{"user":"Jane.Olson@test.com","timestamp":1655564439200,"x":1.0,"y":0.0,"z":-1.0},{"user":"Jane.Olson@test.com","timestamp":1655564439,"x":1.0,"y":0.0,"z":-1.0},""" +
            """{"user":"Jane.Olson@test.com","timestamp":1440000000000,"x":1.0,"y":0.0,"z":-1.0}]""");
        var lake = Path.Combine(tmp.Path, "lake");

        var r = Stedi.Run("run", "--profile", "rubric", "--landing", landing, "--lake", lake, "--parallelism", "2",
            "--time-window", "2016-01-01..2030-01-01", "--data-suffixes", ".json,.jsonl");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("objects 6, events 9 (already processed 0, failed 0, skipped 3 by name)", r.Stdout);
        var log = File.ReadAllLines(Path.Combine(lake, "pipeline.log"));
        Assert.Single(log, l => l.Contains("\"event\":\"unwrapped_array\"") && l.Contains("accelerometer/landing/array.jsonl"));
        Assert.Equal(3, log.Count(l => l.Contains("\"event\":\"skipped\"") && l.Contains("\"reason\":\"unsupported object name\"")));

        var report = Stedi.Run("report", "--lake", lake, "--format", "json");
        Assert.True(report.ExitCode == 0, report.ToString());
        // The small lake's 10,914 rows, the re-sent copy's 5 (rubric accepts its 2 good readings again) and the array's 3.
        Assert.Equal("all 9 landing objects balance: 10,922 rows read = 1,355 accepted + 9,559 filtered + 8 quarantined (3 skipped: not a data file's name)\n", report.Stderr);
        using var doc = JsonDocument.Parse(report.Stdout);
        var objects = doc.RootElement.EnumerateArray().ToDictionary(o => o.GetProperty("landing_key").GetString()!);
        foreach (var key in new[] { "accelerometer/landing/README.txt", "customer/landing/.DS_Store", "step_trainer/landing/_SUCCESS" })
        {
            var o = objects[key];
            Assert.Equal(("skipped", "unsupported object name", 0L, true), (o.GetProperty("status").GetString(), o.GetProperty("skipped_reason").GetString(),
                o.GetProperty("rows_read").GetInt64(), o.GetProperty("balanced").GetBoolean()));
        }
        // The two copies were ingested concurrently: one stands as the original, the other names it.
        string[] copies = ["accelerometer/landing/damaged-resent.json", "accelerometer/landing/damaged.json"];
        var named = copies.Where(k => objects[k].GetProperty("duplicate_of").ValueKind == JsonValueKind.String).ToList();
        var copyKey = Assert.Single(named);
        Assert.Equal(copies.Single(k => k != copyKey), objects[copyKey].GetProperty("duplicate_of").GetString());
        var array = objects["accelerometer/landing/array.jsonl"];
        Assert.Equal((3L, 1L, 2L), (array.GetProperty("rows_read").GetInt64(), array.GetProperty("accepted").GetInt64(), array.GetProperty("quarantined").GetInt64()));
        Assert.Equal(2, array.GetProperty("quarantined_by_reason").GetProperty("out_of_range").GetInt64());
        var q = Stedi.Run("query", "--lake", lake, "--format", "csv", "SELECT line_number, byte_offset, detail FROM quarantine WHERE source_key LIKE '%array.jsonl' ORDER BY byte_offset");
        Assert.True(q.ExitCode == 0, q.ToString());
        Assert.Equal("line_number,byte_offset,detail\n" +
                     "1,83,timestamp: 1655564439 is outside the plausible window 2016-01-01 to 2030-01-01 (looks like seconds)\n" +
                     "1,162,timestamp: 1440000000000 is outside the plausible window 2016-01-01 to 2030-01-01\n", q.Stdout);

        var table = Stedi.Run("report", "--lake", lake);
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("skipped: unsupported object name", table.Stdout);
        Assert.Contains("duplicate of accelerometer/landing/damaged", table.Stdout);
    }

    [Fact]
    public void Watch_says_once_that_a_name_is_not_data_and_does_not_poll_it_again()
    {
        using var tmp = new TempFolder();
        var lake = Path.Combine(tmp.Path, "lake");
        var landing = Path.Combine(lake, "stedi-lake", "customer", "landing");
        Directory.CreateDirectory(landing);
        File.WriteAllText(Path.Combine(landing, ".DS_Store"), "\0\0\0\u0001Bud1");

        // Polling every 50 ms: dozens of polls after the first, then Ctrl+C (SIGINT), as a data engineer stops it.
        var r = WatchThenInterrupt(lake, "customer/landing/.DS_Store: skipped", TimeSpan.FromSeconds(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Single(r.Stdout.Split('\n'), l => l == "customer/landing/.DS_Store: skipped unsupported object name");
        Assert.Contains("0 poll(s) with changes", r.Stdout);
        Assert.Contains("objects 0, events 1 (already processed 0, failed 0, skipped 1 by name)", r.Stdout);

        // Another session says it again, once, and counts no poll with changes.
        var again = Stedi.Run("watch", "--lake", lake, "--once");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Single(again.Stdout.Split('\n'), l => l == "customer/landing/.DS_Store: skipped unsupported object name");
        Assert.Contains("0 poll(s) with changes", again.Stdout);
    }

    /// <summary>Runs <c>stedi watch --interval 50</c> until a line starting with <paramref name="seen"/> is printed, lets it poll for <paramref name="more"/>, then sends SIGINT.</summary>
    private static StediResult WatchThenInterrupt(string lake, string seen, TimeSpan more)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8, WorkingDirectory = Repo.Root };
        foreach (var a in new[] { Stedi.Dll, "watch", "--lake", lake, "--interval", "50" }) psi.ArgumentList.Add(a);
        psi.Environment.Remove("STEDI_PROFILE");
        using var p = Process.Start(psi)!;
        var stdout = new StringBuilder();
        using var ready = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (stdout) stdout.Append(e.Data).Append('\n'); if (e.Data.StartsWith(seen, StringComparison.Ordinal)) ready.Set(); };
        p.BeginOutputReadLine();
        var stderr = p.StandardError.ReadToEndAsync();
        var started = ready.Wait(TimeSpan.FromMinutes(2));
        if (started) Thread.Sleep(more);
        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        lock (stdout) return new StediResult(started ? p.ExitCode : -1, stdout.ToString(), stderr.Result);
    }
}
