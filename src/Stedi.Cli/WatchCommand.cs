using Stedi.Twin;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi watch</c>.</summary>
public sealed class WatchSettings : LakeSettings
{
    /// <summary>Profile.</summary>
    [CommandOption("--profile <PROFILE>")]
    [Description("strict (default) or rubric; must match the lake's earlier runs")]
    public string Profile { get; init; } = "strict";

    /// <summary>Poll interval.</summary>
    [CommandOption("--interval <MS>")]
    [Description("How often to look for new or changed files, in milliseconds. Default: 1000")]
    public int IntervalMs { get; init; } = 1000;

    /// <summary>Stop after one pass.</summary>
    [CommandOption("--once")]
    [Description("Process what is there now, then exit")]
    public bool Once { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Enum.TryParse<ConsentProfile>(Profile, true, out _) ? ValidationResult.Success() : ValidationResult.Error($"--profile must be strict or rubric, not '{Profile}'");
}

/// <summary>
/// <c>stedi watch</c>: polls the lake bucket's landing prefixes (<c>&lt;lake&gt;/stedi-lake/&lt;source&gt;/landing/</c>) and delivers an
/// ObjectCreated event for every object whose eTag the ledger has not seen and an ObjectRemoved event for every ingested
/// object that is gone, then drains the refresh work and prints the tables.
/// </summary>
public sealed class WatchCommand : AsyncCommand<WatchSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, WatchSettings s, CancellationToken ct)
    {
        var profile = Enum.Parse<ConsentProfile>(s.Profile, true);
        using var pipeline = new LocalPipeline(s.Lake, profile, Environment.ProcessorCount);
        foreach (var src in LandingSource.All) Directory.CreateDirectory(Path.Combine(pipeline.Lake.Store.BucketFolder, src.LandingPrefix));
        AnsiConsole.MarkupLine($"watching [bold]{Markup.Escape(Path.Combine(pipeline.Lake.Store.BucketFolder, "<source>", "landing"))}[/] — drop JSON-lines files there{(s.Once ? "" : "; Ctrl+C stops")}");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var sizes = new Dictionary<string, long>();
        try
        {
            while (!cts.IsCancellationRequested)
            {
                var delivered = 0;
                foreach (var src in LandingSource.All)
                    foreach (var o in await pipeline.Lake.Store.ListAsync(src.LandingPrefix, cts.Token))
                    {
                        // Wait until a file stops growing before ingesting it.
                        if (!sizes.TryGetValue(o.Key, out var last) || last != o.Size) { sizes[o.Key] = o.Size; if (!s.Once) continue; }
                        var ledger = await pipeline.Lake.Index.Ledger.GetAsync(o.Key, cts.Token);
                        if (ledger?.IdempotencyKey == (o.VersionId ?? o.ETag)) continue;
                        var r = await pipeline.IngestFunction.HandleEventAsync(await pipeline.EventForAsync(o.Key, cts.Token), cts.Token);
                        foreach (var x in r.Outcomes) AnsiConsole.MarkupLine($"{Markup.Escape(x.Key)}: [bold]{x.Status}[/] {Markup.Escape(x.Reason ?? "")}");
                        delivered++;
                    }
                // Objects the ledger knows that are gone: deliver ObjectRemoved, so their rows leave the tables.
                foreach (var entry in await pipeline.Lake.Index.Ledger.ListAsync(cts.Token))
                {
                    if (await pipeline.Lake.Store.HeadAsync(entry.LandingKey, cts.Token) is not null) continue;
                    var r = await pipeline.IngestFunction.HandleEventAsync(await pipeline.EventForAsync(entry.LandingKey, cts.Token, "ObjectRemoved:Delete"), cts.Token);
                    foreach (var x in r.Outcomes) AnsiConsole.MarkupLine($"{Markup.Escape(x.Key)}: [bold]{x.Status}[/] {Markup.Escape(x.Reason ?? "")}");
                    delivered++;
                }
                if (delivered > 0)
                {
                    await pipeline.Queue.DrainAsync(cts.Token);
                    SummaryView.Render(await pipeline.SummarizeAsync(TimeSpan.Zero, null, cts.Token));
                }
                if (s.Once) break;
                await Task.Delay(s.IntervalMs, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
        return 0;
    }
}
