using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Refine;
using Xunit.Abstractions;

namespace Stedi.Cli.Tests;

/// <summary>
/// The HTML report of a small real run opened in headless Chromium (Debian package <c>chromium</c>; <c>.ci/run</c>
/// installs it): the DOM after the page's script ran holds the SVG flows, bars and hour bars with the model's numbers,
/// the page recorded no error, Chromium logged no console message, and a screenshot is taken.
/// </summary>
[Collection(SmallLakeCollection.Name)]
public sealed partial class HtmlReportBrowserTests(SmallLake small, ITestOutputHelper output)
{
    [Fact]
    public void The_report_renders_its_flows_and_charts_in_chromium_without_errors()
    {
        using var tmp = new TempFolder();
        var page = tmp.File("report.html");
        var r = Stedi.Run("report", "--lake", small.Lake, "--html", page);
        Assert.True(r.ExitCode == 0, r.ToString());

        var (dom, log) = Chromium.DumpDom(page);
        Assert.Contains("<body data-rendered=\"true\">", dom);
        Assert.Equal("0", Single(Elements(dom, "pre", id: "errors"))["data-count"]);
        Assert.Empty(Chromium.ConsoleMessages(log));
        Assert.Equal("true", Single(Elements(dom, "div", id: "status"))["data-balanced"]);

        // One flow band per outcome, its data-rows the model's number.
        var flows = Elements(dom, "path", cls: "flow").Select(a => $"{a["data-source"]} {a["data-kind"]} {a["data-rule"]} {a["data-rows"]}").ToList();
        Assert.Equal(
        [
            "customer accepted  482", "customer filtered no_research_consent 474",
            "accelerometer accepted  519", "accelerometer filtered no_research_consent 756",
            "accelerometer quarantined missing_required_field 1", "accelerometer quarantined not_a_number 1", "accelerometer quarantined truncated_json 1",
            "step_trainer accepted  351", "step_trainer filtered serial_not_curated 8329",
        ], flows);
        Assert.Equal(3, Elements(dom, "svg", cls: "sankey").Count);

        var bars = Elements(dom, "rect", cls: "bar").Select(a => $"{a["data-table"]} {a["data-rows"]}").ToList();
        Assert.Equal(["customer_trusted 482", "accelerometer_trusted 519", "customer_curated 23", "step_trainer_trusted 351", "machine_learning_curated 517"], bars);

        var hours = Elements(dom, "rect", cls: "hour-bar").Select(a => $"{a["data-hour"]} {a["data-table"]} {a["data-rows"]}").ToList();
        Assert.Equal(
        [
            "2022-06-18-14 accelerometer_trusted 193", "2022-06-18-14 step_trainer_trusted 105", "2022-06-18-14 machine_learning_curated 193",
            "2022-06-18-15 accelerometer_trusted 326", "2022-06-18-15 step_trainer_trusted 246", "2022-06-18-15 machine_learning_curated 324",
        ], hours);

        Assert.Equal(["10914", "1352", "9559", "3"], Elements(dom, "div", cls: "kpi").Skip(1).Select(a => a["data-value"]).ToArray());
        Assert.Equal(4, Elements(dom, "tr").Count(a => a.ContainsKey("data-key")));

        var png = Path.Combine(AppContext.BaseDirectory, "report-screenshot.png");
        Chromium.Screenshot(page, png, 1280, 1500);
        AssertPng(png, 1280, 1500);
        output.WriteLine($"screenshot: {png}");
    }

    [Fact]
    public async Task Objects_that_do_not_balance_are_listed_first_in_chromium()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        using (var l = new LocalLake(lake))
            await l.Index.Refine.PutOutcomeAsync(new global::Stedi.Lakehouse.Index.PartitionOutcome("accelerometer_trusted", "2022-06-18-15", 0, "empty", null));
        var page = tmp.File("report.html");
        Assert.Equal(1, Stedi.Run("report", "--lake", lake, "--html", page).ExitCode);

        var (dom, log) = Chromium.DumpDom(page);
        Assert.Contains("<body data-rendered=\"true\">", dom);
        Assert.Equal("0", Single(Elements(dom, "pre", id: "errors"))["data-count"]);
        Assert.Empty(Chromium.ConsoleMessages(log));
        Assert.Equal("false", Single(Elements(dom, "div", id: "status"))["data-balanced"]);
        // The table of unbalanced objects comes before everything else on the page.
        var unbalancedAt = dom.IndexOf("id=\"unbalanced-table\"", StringComparison.Ordinal);
        Assert.True(unbalancedAt > 0 && unbalancedAt < dom.IndexOf("id=\"kpis\"", StringComparison.Ordinal));
        var rows = Elements(dom[unbalancedAt..dom.IndexOf("id=\"kpis\"", StringComparison.Ordinal)], "tr").Where(a => a.ContainsKey("data-key")).Select(a => a["data-key"]).ToList();
        Assert.Equal(["accelerometer/landing/accelerometer-1691348232031.json", "accelerometer/landing/damaged.json"], rows);
        Assert.Contains("accelerometer unaccounted  712", Elements(dom, "path", cls: "flow").Select(a => $"{a["data-source"]} {a["data-kind"]} {a["data-rule"]} {a["data-rows"]}"));

        var png = Path.Combine(AppContext.BaseDirectory, "report-unbalanced-screenshot.png");
        Chromium.Screenshot(page, png, 1280, 1500);
        AssertPng(png, 1280, 1500);
        output.WriteLine($"screenshot: {png}");
    }

    [Fact]
    public void The_console_check_catches_a_page_whose_script_fails()
    {
        // The checks above pass only because the report logs nothing: a failing page is caught by both of them.
        using var tmp = new TempFolder();
        var page = tmp.File("broken.html");
        File.WriteAllText(page, "<html><body><script>console.error('bad thing'); undefinedFunction();</script></body></html>");
        var (_, log) = Chromium.DumpDom(page);
        var messages = Chromium.ConsoleMessages(log);
        Assert.Equal(2, messages.Count);
        Assert.Contains("\"bad thing\"", messages[0]);
        Assert.Contains("Uncaught ReferenceError: undefinedFunction is not defined", messages[1]);
    }

    private static Dictionary<string, string> Single(List<Dictionary<string, string>> elements) => Assert.Single(elements);

    /// <summary>The attributes of every <c>&lt;tag …&gt;</c> in serialized HTML, optionally with a class or id.</summary>
    private static List<Dictionary<string, string>> Elements(string html, string tag, string? cls = null, string? id = null)
    {
        var result = new List<Dictionary<string, string>>();
        foreach (Match m in Regex.Matches(html, $@"<{tag}(\s[^>]*)?>"))
        {
            var attrs = Attribute().Matches(m.Groups[1].Value).ToDictionary(a => a.Groups[1].Value, a => System.Net.WebUtility.HtmlDecode(a.Groups[2].Value));
            if (cls is not null && !(attrs.TryGetValue("class", out var c) && c.Split(' ').Contains(cls))) continue;
            if (id is not null && !(attrs.TryGetValue("id", out var i) && i == id)) continue;
            result.Add(attrs);
        }
        return result;
    }

    [GeneratedRegex("""([\w:-]+)="([^"]*)"\s*""")]
    private static partial Regex Attribute();

    private static void AssertPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
        Assert.True(bytes.Length > 50_000, $"a {bytes.Length}-byte screenshot is too small to hold the charts");
    }
}

/// <summary>Headless Chromium, run as the Debian package installs it (as root it needs --no-sandbox).</summary>
internal static class Chromium
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    public static string Path => Environment.GetEnvironmentVariable("STEDI_CHROMIUM") is { Length: > 0 } p ? p
        : Candidates.FirstOrDefault(File.Exists)
          ?? throw new InvalidOperationException("chromium is not installed: apt-get update && apt-get install -y chromium (.ci/run installs it), or set STEDI_CHROMIUM to a Chromium binary");

    public static (string Dom, string Log) DumpDom(string page) => Run(page, "--dump-dom");

    public static void Screenshot(string page, string png, int width, int height)
    {
        if (File.Exists(png)) File.Delete(png);
        var (_, log) = Run(page, $"--screenshot={png}", $"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1");
        Assert.True(File.Exists(png), "chromium wrote no screenshot:\n" + log);
    }

    /// <summary>Lines Chromium logged for the page's console (any level): a page that works logs nothing.</summary>
    public static IReadOnlyList<string> ConsoleMessages(string log) =>
        log.Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal) || l.Contains("Uncaught", StringComparison.Ordinal)).ToList();

    private static (string Stdout, string Stderr) Run(string page, params string[] action)
    {
        var profile = Directory.CreateTempSubdirectory("stedi-chromium-").FullName;
        try
        {
            var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
                         "--enable-logging=stderr", "--v=0",
                     }.Concat(action))
                psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(new Uri(page).AbsoluteUri);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException("chromium did not finish in 2 minutes");
            }
            Assert.True(p.ExitCode == 0, $"chromium exited {p.ExitCode}:\n{stderr.Result}");
            return (stdout.Result, stderr.Result);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
