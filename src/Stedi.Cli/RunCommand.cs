using Stedi.Twin;
using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli;

/// <summary>Settings shared by commands that open a local lake.</summary>
public class LakeSettings : CommandSettings
{
    /// <summary>Lake folder.</summary>
    [CommandOption("--lake <DIR>")]
    [Description("Lake folder (object store, SQLite index, catalog). Default: ./lake")]
    public string Lake { get; init; } = "lake";
}

/// <summary>Settings of <c>stedi run</c>.</summary>
public sealed class RunSettings : IngestLakeSettings
{
    /// <summary>Landing folder.</summary>
    [CommandOption("--landing <DIR>")]
    [Description("Folder holding customer/, accelerometer/ and step_trainer/ landing files. Default: data/stedi/landing")]
    public string Landing { get; init; } = Path.Combine("data", "stedi", "landing");

    /// <summary>Profile.</summary>
    [CommandOption("--profile <PROFILE>")]
    [Description("strict (privacy-first) or rubric (reproduces the course's published results). Default: strict for a fresh lake; " +
                 "with --keep, the profile the lake records (a different one is refused)")]
    public string? Profile { get; init; }

    /// <summary>Shuffle seed.</summary>
    [CommandOption("--shuffle <SEED>")]
    [Description("Deliver events in a random order drawn from SEED")]
    public int? Shuffle { get; init; }

    /// <summary>Duplicate deliveries.</summary>
    [CommandOption("--duplicate")]
    [Description("Deliver every event twice (S3 notifications are at-least-once)")]
    public bool Duplicate { get; init; }

    /// <summary>Parallelism.</summary>
    [CommandOption("--parallelism <N>")]
    [Description("Concurrent ingests and partition recomputes. Default: number of cores")]
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Summary JSON path.</summary>
    [CommandOption("--summary-json <FILE>")]
    [Description("Also write the summary as JSON (row counts under \"tables\")")]
    public string? SummaryJson { get; init; }

    /// <summary>Refine while delivering.</summary>
    [CommandOption("--interleave")]
    [Description("Recompute partitions while events are still being delivered, as a deployment does (default: deliver every event, then refine — fewer recomputes, same tables)")]
    public bool Interleave { get; init; }

    /// <summary>Memory for decoded batches shared between ingest and refine, in MiB.</summary>
    [CommandOption("--cache-mb <MIB>")]
    [Description("Memory for decoded Parquet shared between ingest and refine, so a batch run need not read back what it " +
                 "just staged. Default: a quarter of the memory available, at most 2048; 0 turns it off (about 10% slower " +
                 "at 100x the real data, peak memory 250 MB instead of 2 GB)")]
    public int? CacheMb { get; init; }

    /// <summary>Keep an existing lake.</summary>
    [CommandOption("--keep")]
    [Description("Keep what the lake already holds (default: start from an empty lake)")]
    public bool Keep { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        if (Profile is not null && !ProfileNames.IsValid(Profile)) return ValidationResult.Error($"--profile must be strict or rubric, not '{Profile}'");
        if (Parallelism < 1) return ValidationResult.Error("--parallelism must be at least 1");
        if (CacheMb < 0) return ValidationResult.Error("--cache-mb must be 0 (off) or more");
        if (OutputFileCheck.Problem("--summary-json", SummaryJson) is { } summaryProblem) return ValidationResult.Error(summaryProblem);
        if (!Directory.Exists(Landing)) return ValidationResult.Error($"landing folder not found: {Landing} (run from the repository root, or pass --landing)");
        // Before anything in the lake is wiped: a folder one level too high (or of other folders) would start an empty lake.
        if (LandingFolderCheck.Problem(Landing) is { } problem) return ValidationResult.Error(problem);
        if (LakeFolder.LandingInsideLake(Landing, Lake) is { } inside) return ValidationResult.Error(inside);
        return base.Validate();
    }
}

/// <summary><c>stedi run</c>.</summary>
public sealed class RunCommand : AsyncCommand<RunSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, RunSettings s, CancellationToken ct)
    {
        var kill = KillSwitch.FromEnvironment();
        using var interruption = new Interruption(ct, "`stedi run --keep` finishes the run");
        ct = interruption.Token;
        if (!s.Keep) LakeFolder.EnsureClearable(s.Lake); // before the lock file is created in a folder that is not a lake
        using var writer = LakeLock.Acquire(s.Lake);
        if (!s.Keep)
        {
            if (LakeFolder.UnrestorableLandingFiles(s.Lake, s.Landing) is { Count: > 0 } kept)
                throw new UsageException($"lake {ShownPath.Of(s.Lake)} holds {kept.Count} landing file(s) that {s.Landing} does not hold as they are " +
                                         $"({string.Join(", ", kept.Take(3))}{(kept.Count > 3 ? ", …" : "")}): files dropped in for `stedi watch`, changed since, " +
                                         "or copied from another landing folder; `run` replaces the lake and would delete them. Pass --keep to add the landing " +
                                         $"folder to this lake, or another --lake; or move the files out (or delete {ShownPath.Of(s.Lake)}) yourself");
            LakeFolder.Reset(s.Lake);
            // From here until its landing folder is copied in, the lake is not what any command could reconcile.
            LocalPipeline.MarkLandingCopyStarted(s.Lake, s.Landing);
        }
        var profile = LakeProfiles.ForWriting(s.Lake, s.Profile, $"--profile {s.Profile}",
            "drop --keep to replace the lake with a fresh one built with that profile, or pass --lake DIR for another lake");
        await using var logFile = new StreamWriter(Path.Combine(s.Lake, "pipeline.log"), append: true);
        var sw = Stopwatch.StartNew();
        using var pipeline = new LocalPipeline(s.Lake, profile, s.Parallelism, log: new JsonLinesLakeLog(logFile), options: s.IngestOptions(),
            refreshDelay: s.Interleave ? LocalPipeline.InterleaveRefreshDelay : TimeSpan.Zero, cacheBytes: s.CacheMb is { } mb ? (long)mb << 20 : null);
        IReadOnlyList<Stedi.Functions.RecordOutcome> outcomes = [];
        await Stderr.ProgressConsole.Progress() // on stderr, when it is a terminal: redirected stdout holds the summary only
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var ingest = ctx.AddTask("ingest landing objects");
                var refine = ctx.AddTask("refine partitions");
                pipeline.Queue.Progress = p =>
                {
                    var total = p.Completed + p.Queued + p.Running;
                    refine.MaxValue = Math.Max(1, total);
                    refine.Value = p.Completed;
                    kill?.OnQueue(p);
                };
                outcomes = await pipeline.ReplayAsync(s.Landing, new ReplayOptions(s.Shuffle, s.Duplicate, s.Interleave), (d, n) => { ingest.MaxValue = n; ingest.Value = d; kill?.AfterDelivery(d); }, ct);
                ingest.Value = ingest.MaxValue;
                refine.MaxValue = Math.Max(1, pipeline.Queue.Completed);
                refine.Value = refine.MaxValue;
            });
        var summary = await pipeline.SummarizeAsync(sw.Elapsed, outcomes, ct);
        SummaryView.Render(summary);
        if (s.SummaryJson is not null) await File.WriteAllTextAsync(s.SummaryJson, summary.ToJson(), ct);
        return summary.Failed > 0 ? ExitCodes.DataProblem : ExitCodes.Ok;
    }
}

/// <summary>Checks of output file options, before any work is done.</summary>
internal static class OutputFileCheck
{
    /// <summary>Null when <paramref name="path"/> (the value of <paramref name="option"/>, or null when not given) can be written as a file; else what is wrong.</summary>
    public static string? Problem(string option, string? path)
    {
        if (path is null) return null;
        if (path.Trim().Length == 0) return $"{option} needs a file name";
        if (Directory.Exists(path)) return $"{option}: {path} is a folder; name a file in it";
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir && !Directory.Exists(dir)) return $"{option}: folder not found: {dir}";
        return null;
    }
}

/// <summary>Profile names on the command line.</summary>
internal static class ProfileNames
{
    /// <summary>Whether a name is strict or rubric (any case).</summary>
    public static bool IsValid(string name) => name.Length > 0 && char.IsLetter(name[0]) && Enum.TryParse<ConsentProfile>(name, true, out var p) && Enum.IsDefined(p);
}

/// <summary>Lake folder housekeeping.</summary>
internal static class LakeFolder
{
    /// <summary>
    /// The file that says a lake's landing folders hold a user's own files: written by <c>watch</c> and a local
    /// <c>invoke</c> when they ingest or retract an object, so that <c>run</c> (which replaces a lake, landing folders
    /// included) refuses to clear it. <c>run</c> copies its landing folder in and never writes it.
    /// </summary>
    public const string UserLandingMarker = "landing-in-use";

    /// <summary>A path with every symbolic link along it resolved (as far as the path exists), like realpath(3).</summary>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        var parts = new Queue<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        for (var hops = 0; parts.Count > 0;)
        {
            var next = Path.Combine(current, parts.Dequeue());
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target && ++hops <= 40)
            {
                var resolved = Path.GetFullPath(target, current);
                var rest = parts.ToArray();
                parts = new Queue<string>(resolved[Path.GetPathRoot(resolved)!.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(rest));
                current = Path.GetPathRoot(resolved)!;
                continue;
            }
            current = next;
        }
        return current;
    }

    /// <summary>Records that <paramref name="lake"/>'s landing folders hold files a user dropped in (idempotent).</summary>
    public static void MarkUserLanding(string lake)
    {
        var path = Path.Combine(lake, UserLandingMarker);
        if (File.Exists(path)) return;
        File.WriteAllText(path, "Files under stedi-lake/<source>/landing/ were processed by `stedi watch` or `stedi invoke`: they are yours, " +
                                "so `stedi run` refuses to replace this lake (use `run --keep`, another --lake, or move them out and delete this file).\n");
    }

    /// <summary>
    /// The landing keys a lake holds that the landing folder about to be copied in does not hold byte for byte under the
    /// same key: replacing the lake would delete them for good (files dropped in for <c>watch</c>, changed in place, or
    /// copied from another landing folder). What it holds as they are is restored by the copy; a run killed before it
    /// ingested its copies is replaced by the same run without a word.
    /// </summary>
    public static IReadOnlyList<string> UnrestorableLandingFiles(string lake, string landing)
    {
        var held = LakeLandingFiles(lake);
        if (held.Count == 0) return [];
        var sources = Stedi.Twin.LocalPipeline.LandingFilesByKey(landing);
        return held.Where(f => !sources.TryGetValue(f.Key, out var source) || !SameContent(f.Path, source))
            .Select(f => f.Key).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The files under a lake's landing prefixes, with their keys (links to folders not entered).</summary>
    private static List<(string Key, string Path)> LakeLandingFiles(string lake)
    {
        var bucket = Path.Combine(lake, LocalLake.BucketName);
        return LandingSource.All.Select(src => Path.Combine(bucket, src.LandingPrefix)).Where(Directory.Exists)
            .SelectMany(dir => FolderObjectStore.FilesUnder(dir))
            .Select(f => (Path.GetRelativePath(bucket, f).Replace(Path.DirectorySeparatorChar, '/'), f)).ToList();
    }

    private static bool SameContent(string a, string b)
    {
        long la = new FileInfo(a).Length, lb = new FileInfo(b).Length;
        if (la != lb) return false;
        if (la == 0) return true; // not opened: a named pipe reports no length either, and opening one would wait
        using var sa = File.OpenRead(a);
        using var sb = File.OpenRead(b);
        var ba = new byte[1 << 16];
        var bb = new byte[1 << 16];
        while (true)
        {
            var n = sa.ReadAtLeast(ba, ba.Length, throwOnEndOfStream: false);
            var m = sb.ReadAtLeast(bb, bb.Length, throwOnEndOfStream: false);
            if (n != m || !ba.AsSpan(0, n).SequenceEqual(bb.AsSpan(0, m))) return false;
            if (n == 0) return true;
        }
    }

    /// <summary>Null when <paramref name="landing"/> lies outside <paramref name="lake"/> (symbolic links resolved); else why a run cannot read it.</summary>
    public static string? LandingInsideLake(string landing, string lake)
    {
        var k = Path.TrimEndingDirectorySeparator(RealPath(lake));
        bool Inside(string path)
        {
            var p = Path.TrimEndingDirectorySeparator(RealPath(path));
            return p == k || p.StartsWith(k + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        }
        // The folder itself, each source folder (a link to a folder inside the lake), and each file that is a link.
        var inside = Inside(landing)
                     || LandingSource.All.Select(src => Path.Combine(landing, src.Name)).Where(Directory.Exists).Any(Inside)
                     || (Directory.Exists(landing) && Stedi.Twin.LocalPipeline.LandingFilesByKey(landing).Values.Any(f => new FileInfo(f).LinkTarget is not null && Inside(f)));
        if (!inside) return null;
        return $"the landing folder {landing} is inside the lake {lake}: `run` copies the landing folder into the lake (and without " +
               "--keep replaces the lake first), so it would read files it is deleting. To process files dropped into a lake's " +
               "landing folders use `stedi watch --lake " + lake + "`; or pass a landing folder outside the lake";
    }

    /// <summary>Deletes a lake folder's contents but its lock file, refusing folders that do not look like a lake.</summary>
    /// <exception cref="UsageException">The folder holds entries a lake does not.</exception>
    public static void Reset(string lake)
    {
        if (!Directory.Exists(lake)) return;
        var entries = EnsureClearable(lake);
        // Everything but the lock file, which the caller holds (deleting it would let a second writer lock a new one).
        foreach (var e in entries.Where(e => e != LakeLock.FileName))
        {
            var path = Path.Combine(lake, e);
            if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
    }

    /// <summary>The entries of a lake folder (none when it does not exist), refusing folders that do not look like a lake.</summary>
    /// <exception cref="UsageException">The folder holds entries a lake does not.</exception>
    public static IReadOnlyList<string> EnsureClearable(string lake)
    {
        if (!Directory.Exists(lake)) return [];
        var entries = Directory.EnumerateFileSystemEntries(lake).Select(e => Path.GetFileName(e)!).ToList();
        var known = new HashSet<string?>(LocalLake.EntryNames) { "pipeline.log", LakeMetadata.FileName, LakeLock.FileName, UserLandingMarker, LocalPipeline.LandingCopyMarker };
        // A process killed while creating lake.json or the secret leaves its temporary file beside them (`lake.json.<id>.tmp`).
        var foreign = entries.Where(e => !known.Contains(e) && !known.Any(k => k is not null && e!.StartsWith(k + ".", StringComparison.Ordinal) && e.EndsWith(".tmp", StringComparison.Ordinal))).ToList();
        if (foreign.Count > 0)
            throw new UsageException($"{lake} holds files that are not a stedi lake ({string.Join(", ", foreign.Take(3))}); refusing to clear it: pass --lake with a new or empty folder, or one that holds a lake");
        if (entries.Contains(UserLandingMarker))
        {
            var bucket = Path.Combine(lake, LocalLake.BucketName);
            var files = LakeLandingFiles(lake).Count;
            throw new UsageException($"lake {ShownPath.Of(lake)} holds landing files that `stedi watch` or `stedi invoke` processed ({files} landing file(s) in all under " +
                                     $"{Path.Combine(bucket, "<source>", "landing")}): `run` replaces the lake and would delete them. Pass another --lake, " +
                                     $"or --keep to add the landing folder to this lake; or move the files out and delete {ShownPath.Of(lake)} yourself");
        }
        return entries;
    }
}
