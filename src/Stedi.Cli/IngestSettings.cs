using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Deployment;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Reading;

namespace Stedi.Cli;

/// <summary>
/// Settings of the commands that ingest into a local lake (<c>run</c>, <c>watch</c>): the data engineer's plausible
/// time window and data file name endings, as options or, when an option is not given, from the same environment
/// variables the Lambda functions read (<c>STEDI_TIME_WINDOW_MIN</c>, <c>STEDI_TIME_WINDOW_MAX</c>, <c>STEDI_DATA_SUFFIXES</c>).
/// </summary>
public class IngestLakeSettings : LakeSettings
{
    /// <summary>Time window.</summary>
    [CommandOption("--time-window <FROM..TO>")]
    [Description("Plausible reading and update times; records outside are quarantined as out_of_range. FROM and TO: ISO 8601 dates or " +
                 "date-times in UTC, epoch milliseconds, or now±Nd or now±Nh; either may be left out (2010-01-01.. keeps the default end). " +
                 "Default: STEDI_TIME_WINDOW_MIN and STEDI_TIME_WINDOW_MAX, else 2015-01-01..now+1d")]
    public string? TimeWindow { get; init; }

    /// <summary>Data suffixes.</summary>
    [CommandOption("--data-suffixes <LIST>")]
    [Description("Comma-separated name endings of landing objects that hold data (case-insensitive); other names under a landing prefix " +
                 "are skipped unread and listed by `stedi report`. Default: STEDI_DATA_SUFFIXES, else .json, .jsonl, .ndjson, .json.gz, .jsonl.gz, .ndjson.gz (a list given is written without spaces, e.g. .json,.jsonl)")]
    public string? DataSuffixes { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        try { IngestOptions(); }
        catch (UsageException e) { return ValidationResult.Error(e.Message); }
        return ValidationResult.Success();
    }

    /// <summary>The lake options these settings ask for (profile left at its default: the command sets it).</summary>
    /// <exception cref="UsageException">An option or variable that does not parse.</exception>
    public LakeOptions IngestOptions() => IngestSettingsEnvironment.Options(TimeWindow, DataSuffixes);
}

/// <summary>Builds the ingest settings from options and the <c>STEDI_*</c> environment variables (options win).</summary>
internal static class IngestSettingsEnvironment
{
    /// <summary>
    /// Lake options with the time window and data suffixes of <paramref name="timeWindow"/> (<c>FROM..TO</c>) and
    /// <paramref name="dataSuffixes"/>, or of the environment variables for those not given, or the defaults.
    /// </summary>
    /// <exception cref="UsageException">A value that does not parse; the message names the option or variable and the forms accepted.</exception>
    public static LakeOptions Options(string? timeWindow = null, string? dataSuffixes = null, Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        var errors = new List<string>();
        var options = FunctionEnvironment.WithIngestSettings(new LakeOptions(), name =>
            (name is Topology.Env.TimeWindowMin or Topology.Env.TimeWindowMax && timeWindow is not null) || (name == Topology.Env.DataSuffixes && dataSuffixes is not null)
                ? null : get(name), errors);
        if (timeWindow is not null)
        {
            var dots = timeWindow.IndexOf("..", StringComparison.Ordinal);
            if (dots < 0 || timeWindow.IndexOf("..", dots + 2, StringComparison.Ordinal) >= 0)
                errors.Add($"--time-window must be FROM..TO (either side may be empty), not '{timeWindow}'");
            else
            {
                try { options = options with { TimeWindow = Lakehouse.Reading.TimeWindow.Parse(timeWindow[..dots], timeWindow[(dots + 2)..]) }; }
                catch (FormatException e) { errors.Add($"--time-window {timeWindow}: {e.Message}"); }
            }
        }
        if (dataSuffixes is not null)
        {
            try { options = options with { DataSuffixes = LakeOptions.ParseDataSuffixes(dataSuffixes) }; }
            catch (FormatException e) { errors.Add($"--data-suffixes {dataSuffixes}: {e.Message}"); }
        }
        if (errors.Count > 0) throw new UsageException(string.Join("; ", errors));
        return options;
    }
}

/// <summary>Checks that a landing folder holds something to ingest, before anything in the lake is touched.</summary>
internal static class LandingFolderCheck
{
    private static string Expected => string.Join(", ", LandingSource.All.Select(s => s.Name + "/"));

    /// <summary>Null when <paramref name="landing"/> holds files under a source folder; else what is wrong and, when it can tell, the folder meant.</summary>
    public static string? Problem(string landing)
    {
        try { return ProblemOrThrow(landing); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return $"cannot read the landing folder {landing}: {e.Message} — fix its permissions or move what cannot be read, then run again";
        }
    }

    private static string? ProblemOrThrow(string landing)
    {
        var present = LandingSource.All.Where(s => Directory.Exists(Path.Combine(landing, s.Name))).ToList();
        if (present.Count > 0)
        {
            if (present.Any(s => Stedi.Lakehouse.Local.FolderObjectStore.FilesUnder(Path.Combine(landing, s.Name)).Any()))
                return Unreadable(present.SelectMany(s => Stedi.Lakehouse.Local.FolderObjectStore.FilesUnder(Path.Combine(landing, s.Name))));
            return $"landing folder {landing} has nothing to ingest: {string.Join(", ", present.Select(s => s.Name + "/"))} hold(s) no files " +
                   $"(put each source's JSON files in its folder: {Expected})";
        }
        var subfolders = Directory.EnumerateDirectories(landing).Order(StringComparer.Ordinal).ToList();
        var message = $"landing folder {landing} has nothing to ingest: it holds none of the folders {Expected} (one per landing source, each holding that source's JSON files)";
        var meant = subfolders.FirstOrDefault(d => LandingSource.All.Any(s => Directory.Exists(Path.Combine(d, s.Name))));
        if (meant is not null) return message + $"; {meant} holds them: pass --landing {meant}";
        if (subfolders.Count > 0) return message + $"; it holds {string.Join(", ", subfolders.Take(5).Select(d => Path.GetFileName(d) + "/"))}{(subfolders.Count > 5 ? ", …" : "")}";
        return message;
    }

    /// <summary>
    /// Null when every landing file can be read; else which cannot and why (a symbolic link to nothing, no read
    /// permission), so that one bad file stops the run before the lake is wiped rather than halfway through the copy.
    /// A file that is not empty is opened and closed; an empty one is not opened (a named pipe would block the open).
    /// </summary>
    private static string? Unreadable(IEnumerable<string> files)
    {
        var bad = new List<string>();
        foreach (var f in files.Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(f);
            string? why = null;
            try
            {
                if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is not { Exists: true } target)
                    why = $"a symbolic link to {info.LinkTarget}, which does not exist";
                else if (info.Length > 0) File.OpenRead(f).Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { why = e.Message; }
            if (why is not null) bad.Add($"{f} ({why})");
            if (bad.Count == 5) break;
        }
        return bad.Count == 0 ? null : $"cannot read landing file(s): {string.Join("; ", bad)} — fix or move them, then run again";
    }
}
