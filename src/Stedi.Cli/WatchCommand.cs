using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Functions;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Reading;
using Stedi.Twin;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi watch</c>.</summary>
public sealed class WatchSettings : IngestLakeSettings
{
    /// <summary>Profile.</summary>
    [CommandOption("--profile <PROFILE>")]
    [Description("strict or rubric. Default: the profile the lake records (strict for a new lake); a different one is refused")]
    public string? Profile { get; init; }

    /// <summary>Poll interval.</summary>
    [CommandOption("--interval <MS>")]
    [Description("How often to look for new, changed or deleted files, in milliseconds. Default: 1000")]
    public int IntervalMs { get; init; } = 1000;

    /// <summary>Stop after one pass.</summary>
    [CommandOption("--once")]
    [Description("Process what is there now (without waiting for files to stop growing), then exit")]
    public bool Once { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        if (Profile is not null && !ProfileNames.IsValid(Profile)) return ValidationResult.Error($"--profile must be strict or rubric, not '{Profile}'");
        if (IntervalMs is < 10 or > 3_600_000) return ValidationResult.Error("--interval must be between 10 and 3600000 milliseconds");
        return base.Validate();
    }
}

/// <summary>
/// <c>stedi watch</c>: polls the lake bucket's landing prefixes (<c>&lt;lake&gt;/stedi-lake/&lt;source&gt;/landing/</c>) and delivers an
/// ObjectCreated event for every object whose eTag the ledger has not seen and an ObjectRemoved event for every ingested
/// object that is gone, then drains the refresh work. Prints one line per poll that changed something (objects
/// ingested and retracted, rows read, recomputes, table changes, elapsed) and, when stopped, the summary of the session.
/// Exits 1 when an event or a recompute failed during the session.
/// </summary>
public sealed class WatchCommand : AsyncCommand<WatchSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, WatchSettings s, CancellationToken ct)
    {
        // A lake that does not exist yet is created: say so, or a watch run from the wrong folder quietly makes a new one.
        var isNew = !File.Exists(Stedi.Lakehouse.Local.LakeMetadata.PathIn(s.Lake));
        using var writer = LakeLock.Acquire(s.Lake);
        var profile = LakeProfiles.ForWriting(s.Lake, s.Profile, $"--profile {s.Profile}",
            $"pass --lake DIR for a lake built with {s.Profile} (stedi run --profile {s.Profile} --lake DIR makes one)");
        var session = Stopwatch.StartNew();
        using var pipeline = new LocalPipeline(s.Lake, profile, Environment.ProcessorCount, options: s.IngestOptions(),
            refreshDelay: LocalPipeline.InterleaveRefreshDelay);
        foreach (var src in LandingSource.All) Directory.CreateDirectory(Path.Combine(pipeline.Lake.Store.BucketFolder, src.LandingPrefix));
        if (isNew) Stderr.Line($"created a new lake at {Path.GetFullPath(s.Lake)} (there was none; pass --lake DIR for an existing one)");
        AnsiConsole.MarkupLine($"watching [bold]{Markup.Escape(Path.Combine(pipeline.Lake.Store.BucketFolder, "<source>", "landing"))}[/] " +
                               $"(profile {Markup.Escape(Stedi.Lakehouse.Local.LakeMetadata.ProfileName(profile))}) — drop JSON-lines files there" +
                               (s.Once ? "" : $"; polling every {s.IntervalMs} ms, Ctrl+C stops"));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (timeout, systemd, a container stop) stops it the same way: the summary, then exit 0 (or 1 on failures).
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        var sizes = new Dictionary<string, long>();
        // Objects answered without work (a name that is not a data file's, a folder marker): not delivered again while unchanged.
        var acknowledged = new Dictionary<string, string>(StringComparer.Ordinal);
        var outcomes = new List<RecordOutcome>();
        var failures = 0;
        var polls = 0;
        var tables = await pipeline.SummarizeAsync(TimeSpan.Zero, null, ct); // row counts change only when this session delivers events
        try
        {
            if (pipeline.Queue.Recovered > 0)
            {
                // Refresh work an interrupted process left in the lake's journal (Ctrl+C, kill -9): finish it first, so
                // `watch --once` also completes an interrupted run (its landing objects are delivered below as usual).
                var resume = Stopwatch.StartNew();
                try { await pipeline.Queue.DrainAsync(cts.Token); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures++;
                    Stderr.Error($"refresh work failed: {e.Message}");
                }
                var after = await pipeline.SummarizeAsync(TimeSpan.Zero, null, cts.Token);
                AnsiConsole.MarkupLine(Markup.Escape(ResumedLine(pipeline.Queue.Recovered, pipeline.Queue.Completed, tables, after, resume.Elapsed)));
                tables = after;
            }
            while (!cts.IsCancellationRequested)
            {
                var poll = Stopwatch.StartNew();
                var recomputesBefore = pipeline.Queue.Completed;
                var mine = new List<RecordOutcome>();
                long rowsRead = 0, quarantined = 0;
                foreach (var src in LandingSource.All)
                    foreach (var o in await pipeline.Lake.Store.ListAsync(src.LandingPrefix, cts.Token))
                    {
                        // Wait until a file stops growing before ingesting it.
                        if (!sizes.TryGetValue(o.Key, out var last) || last != o.Size) { sizes[o.Key] = o.Size; if (!s.Once) continue; }
                        var version = o.VersionId ?? o.ETag;
                        if (acknowledged.TryGetValue(o.Key, out var seen) && seen == version) continue;
                        var ledger = await pipeline.Lake.Index.Ledger.GetAsync(o.Key, cts.Token);
                        if (ledger?.IdempotencyKey == version) continue;
                        var delivered = await DeliverAsync(pipeline, o.Key, "ObjectCreated:Put", cts.Token);
                        if (delivered.All(d => d.Status is "skipped" or "ignored")) acknowledged[o.Key] = version;
                        mine.AddRange(delivered);
                        if (delivered.Any(d => d.Status == "ingested") && await pipeline.Lake.Index.Ledger.GetAsync(o.Key, cts.Token) is { } entry
                            && await ReadManifestAsync(pipeline, entry.ManifestKey, cts.Token) is { } m)
                        {
                            rowsRead += m.RowsRead;
                            quarantined += m.RowsQuarantined;
                        }
                    }
                // Objects the ledger knows that are gone: deliver ObjectRemoved, so their rows leave the tables.
                foreach (var entry in await pipeline.Lake.Index.Ledger.ListAsync(cts.Token))
                {
                    if (await pipeline.Lake.Store.HeadAsync(entry.LandingKey, cts.Token) is not null) continue;
                    sizes.Remove(entry.LandingKey);
                    mine.AddRange(await DeliverAsync(pipeline, entry.LandingKey, "ObjectRemoved:Delete", cts.Token));
                }
                if (mine.Any(o => o.Status is "ingested" or "retracted")) LakeFolder.MarkUserLanding(s.Lake);
                // Only skipped or ignored objects: said once (above), and no change to poll for.
                if (mine.Count > 0 && mine.All(o => o.Status is "skipped" or "ignored")) outcomes.AddRange(mine);
                else if (mine.Count > 0)
                {
                    polls++;
                    try { await pipeline.Queue.DrainAsync(cts.Token); }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        failures++;
                        Stderr.Error($"refresh work failed: {e.Message}");
                    }
                    var after = await pipeline.SummarizeAsync(TimeSpan.Zero, null, cts.Token);
                    outcomes.AddRange(mine);
                    failures += mine.Count(o => o.Status is "failed" or "too_large");
                    AnsiConsole.MarkupLine(Markup.Escape(PollLine(mine, rowsRead, quarantined, pipeline.Queue.Completed - recomputesBefore, tables, after, poll.Elapsed)));
                    tables = after;
                }
                if (s.Once) break;
                await Task.Delay(s.IntervalMs, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
        finally { Console.CancelKeyPress -= onCancel; }

        var summary = await pipeline.SummarizeAsync(session.Elapsed, outcomes, CancellationToken.None);
        AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"watched {session.Elapsed.TotalSeconds:0.00} s: {polls} poll(s) with changes; lake now:")));
        SummaryView.Render(summary, "session");
        return failures > 0 ? ExitCodes.DataProblem : ExitCodes.Ok;
    }

    /// <summary>Delivers one S3 event notification; a failed object is an outcome, not an exception.</summary>
    private static async Task<IReadOnlyList<RecordOutcome>> DeliverAsync(LocalPipeline pipeline, string key, string eventName, CancellationToken ct)
    {
        try
        {
            var r = await pipeline.IngestFunction.HandleEventAsync(await pipeline.EventForAsync(key, ct, eventName), ct);
            foreach (var x in r.Outcomes.Where(x => x.Status is not ("ingested" or "retracted")))
                AnsiConsole.MarkupLine($"{Markup.Escape(x.Key)}: [bold]{Markup.Escape(x.Status)}[/] {Markup.Escape(x.Reason ?? "")}");
            return r.Outcomes;
        }
        catch (AggregateException e)
        {
            // A direct S3 invocation reports failed objects as a function error (Lambda would retry the event).
            Stderr.Error($"{key}: {e.Message}");
            return [new RecordOutcome { Key = key, Status = "failed", Reason = e.Message }];
        }
    }

    /// <summary>One line per poll: <c>HH:mm:ss ingested 3 objects (…), retracted 0; 12 recomputes; tables …; 0.84 s</c>.</summary>
    internal static string PollLine(IReadOnlyList<RecordOutcome> outcomes, long rowsRead, long quarantined, long recomputes,
        RunSummary before, RunSummary after, TimeSpan elapsed)
    {
        var ingested = outcomes.Count(o => o.Status == "ingested");
        var retracted = outcomes.Count(o => o.Status == "retracted");
        var other = outcomes.Where(o => o.Status is not ("ingested" or "retracted")).GroupBy(o => o.Status).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count()}").ToList();
        var changes = after.Tables.Select(kv => (Table: kv.Key, Delta: kv.Value - before.Tables.GetValueOrDefault(kv.Key)))
            .Where(c => c.Delta != 0).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Table} {c.Delta:+#,0;-#,0}")).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss} ingested {ingested} object{(ingested == 1 ? "" : "s")} ({rowsRead:N0} rows read, {quarantined:N0} quarantined), " +
            $"retracted {retracted}{(other.Count > 0 ? ", " + string.Join(", ", other) : "")}; {recomputes:N0} recompute{(recomputes == 1 ? "" : "s")}; " +
            $"tables {(changes.Count > 0 ? string.Join(", ", changes) : "unchanged")}; {elapsed.TotalSeconds:0.00} s");
    }

    /// <summary><c>HH:mm:ss resumed 20 refresh groups an interrupted run left pending; 28 recomputes; tables …; 1.20 s</c>.</summary>
    internal static string ResumedLine(int groups, long recomputes, RunSummary before, RunSummary after, TimeSpan elapsed)
    {
        var changes = after.Tables.Select(kv => (Table: kv.Key, Delta: kv.Value - before.Tables.GetValueOrDefault(kv.Key)))
            .Where(c => c.Delta != 0).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Table} {c.Delta:+#,0;-#,0}")).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss} resumed {groups} refresh group{(groups == 1 ? "" : "s")} an interrupted run left pending; " +
            $"{recomputes:N0} recompute{(recomputes == 1 ? "" : "s")}; tables {(changes.Count > 0 ? string.Join(", ", changes) : "unchanged")}; {elapsed.TotalSeconds:0.00} s");
    }

    private static async Task<IngestManifest?> ReadManifestAsync(LocalPipeline pipeline, string key, CancellationToken ct)
    {
        try
        {
            await using var body = await pipeline.Lake.Store.OpenReadAsync(key, ct);
            return IngestManifest.FromJson(await new StreamReader(body).ReadToEndAsync(ct));
        }
        catch (Stedi.Lakehouse.Ports.ObjectNotFoundException) { return null; }
    }
}
