using System.Globalization;
using System.Text.RegularExpressions;

namespace Stedi.Cli.Tests;

/// <summary><c>stedi watch</c> reports what each poll did, and its summary has the real event count and elapsed time (issue 11: <c>0.00 s</c>, <c>events 0</c>).</summary>
public sealed partial class WatchTests
{
    [Fact]
    public void A_poll_reports_objects_rows_recomputes_and_table_changes_and_the_summary_counts_the_events()
    {
        using var tmp = new TempFolder();
        var lake = Path.Combine(tmp.Path, "lake");
        var landing = Path.Combine(tmp.Path, "landing");
        SmallLake.WriteLanding(landing);
        var bucket = Path.Combine(lake, "stedi-lake");
        foreach (var (source, file) in new[] { ("customer", SmallLake.CustomerFile), ("accelerometer", SmallLake.AccelerometerFile), ("accelerometer", "damaged.json") })
        {
            Directory.CreateDirectory(Path.Combine(bucket, source, "landing"));
            File.Copy(Path.Combine(landing, source, file), Path.Combine(bucket, source, "landing", file));
        }

        var first = Stedi.Run("watch", "--lake", lake, "--once", "--profile", "rubric");
        Assert.True(first.ExitCode == 0, first.ToString());
        var lines = first.Stdout.Split('\n');
        Assert.Equal($"watching {Path.Combine(bucket, "<source>", "landing")} (profile rubric) — drop JSON-lines files there", lines[0]);
        var poll = PollLine().Match(lines[1]);
        Assert.True(poll.Success, lines[1]);
        Assert.Equal("ingested 3 objects (2,234 rows read, 3 quarantined), retracted 0", poll.Groups["what"].Value);
        Assert.Equal("tables accelerometer_trusted +519, customer_curated +23, customer_trusted +482", poll.Groups["tables"].Value);
        Assert.True(int.Parse(poll.Groups["recomputes"].Value, CultureInfo.InvariantCulture) > 0, lines[1]);
        Assert.True(double.Parse(poll.Groups["seconds"].Value, CultureInfo.InvariantCulture) > 0, lines[1]);
        var watched = Regex.Match(lines[2], @"^watched (\d+\.\d\d) s: 1 poll\(s\) with changes; lake now:$");
        Assert.True(watched.Success, lines[2]);
        Assert.True(double.Parse(watched.Groups[1].Value, CultureInfo.InvariantCulture) > 0);
        Assert.Contains("objects 3, events 3 (already processed 0, failed 0); rows read accelerometer 1,278, customer 956", first.Stdout);
        Assert.DoesNotContain("— 0.00 s", first.Stdout);

        // Nothing new: no poll line, and the summary counts no events.
        var idle = Stedi.Run("watch", "--lake", lake, "--once");
        Assert.True(idle.ExitCode == 0, idle.ToString());
        Assert.Matches(@"^watched \d+\.\d\d s: 0 poll\(s\) with changes; lake now:$", idle.Stdout.Split('\n')[1]);
        Assert.Contains("objects 3, events 0 (already processed 0, failed 0)", idle.Stdout);

        // A deleted file is retracted from every table.
        File.Delete(Path.Combine(bucket, "accelerometer", "landing", SmallLake.AccelerometerFile));
        var retract = Stedi.Run("watch", "--lake", lake, "--once");
        Assert.True(retract.ExitCode == 0, retract.ToString());
        var line = PollLine().Match(retract.Stdout.Split('\n')[1]);
        Assert.True(line.Success, retract.Stdout);
        Assert.Equal("ingested 0 objects (0 rows read, 0 quarantined), retracted 1", line.Groups["what"].Value);
        Assert.Equal("tables accelerometer_trusted -517, customer_curated -22", line.Groups["tables"].Value);
        Assert.Contains("objects 2, events 1 (already processed 0, failed 0)", retract.Stdout);
    }

    [GeneratedRegex(@"^\d\d:\d\d:\d\d (?<what>ingested .*?retracted \d+); (?<recomputes>\d+) recomputes?; (?<tables>tables .*); (?<seconds>\d+\.\d\d) s$")]
    private static partial Regex PollLine();
}
