using System.ComponentModel;
using System.Globalization;
using Stedi.Lakehouse.Refine;
using System.Text;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Cli.Output;
using Stedi.Cli.Report;
using Stedi.Lakehouse.Local;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi report</c>.</summary>
public sealed class ReportSettings : LakeSettings
{
    /// <summary>Output format.</summary>
    [CommandOption("--format <FORMAT>")]
    [Description("table (the default on a terminal), markdown (the default when the output is not a terminal), csv or json: one row per landing object (json: filtered and quarantined_by_reason as objects)")]
    public string? Format { get; init; }

    /// <summary>HTML file.</summary>
    [CommandOption("--html <FILE>")]
    [Description("Write one self-contained page (no network) to FILE: objects that do not balance at the top, the flow of rows per source, " +
                 "rows per table and per hour. Prints the table too only when --format is given")]
    public string? Html { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        if (Format is not null && (!ResultFormatter.TryParse(Format, out var f) || f is not (OutputFormat.Table or OutputFormat.Markdown or OutputFormat.Csv or OutputFormat.Json)))
            return ValidationResult.Error($"--format must be table, markdown, csv or json, not '{Format}'");
        if (OutputFileCheck.Problem("--html", Html) is { } htmlProblem) return ValidationResult.Error(htmlProblem);
        return ValidationResult.Success();
    }
}

/// <summary>
/// <c>stedi report</c>: the reconciliation of a lake, per landing object: rows read = accepted + filtered (by rule) +
/// quarantined; objects under the landing prefixes that ingest skipped for their name are listed as <c>skipped</c> with
/// zero rows, and a re-sent copy names its original (<c>duplicate_of</c>). Exits 1 when an object does not balance
/// (quarantined rows are accounted for, not a failure).
/// </summary>
public sealed class ReportCommand : AsyncCommand<ReportSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, ReportSettings s, CancellationToken ct)
    {
        var model = await LakeReportSource.GatherAsync(s.Lake, ct);
        if (s.Html is not null)
        {
            await File.WriteAllTextAsync(s.Html, HtmlReport.Render(model), new UTF8Encoding(false), ct);
            Stderr.Line($"wrote {s.Html}");
        }
        if (s.Html is null || s.Format is not null)
        {
            // As query: a table fitted to the terminal, markdown when the output goes to a file or a pipe.
            ResultFormatter.TryParse(s.Format ?? (Console.IsOutputRedirected ? "markdown" : "table"), out var format);
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
            ResultFormatter.Write(stdout, format is OutputFormat.Table or OutputFormat.Markdown ? TablePage(model) : DataPage(model), format,
                format == OutputFormat.Table && !Console.IsOutputRedirected ? ResultFormatter.TerminalWidth() : null, moreRowsHint: null, rowCount: false);
        }
        var t = model.Totals;
        if (Stedi.Twin.LocalPipeline.IncompleteLandingCopy(s.Lake) is { } landing)
        {
            // The objects never copied in are nowhere in the lake: no reconciliation can count them.
            Stderr.Error($"an interrupted `stedi run` had not finished copying the landing folder {landing} into this lake, so its tables " +
                         $"may lack whole landing objects. `stedi run --keep --landing {landing}` finishes it");
            return ExitCodes.DataProblem;
        }
        if (model.PendingWork.Count > 0)
        {
            var shown = string.Join(", ", model.PendingWork.Take(3).Select(w => $"{w.Table} {w.Partition} ({w.State})"));
            Stderr.Error(string.Create(CultureInfo.InvariantCulture, $"{model.PendingWork.Count:N0} refresh group(s) have not run ({shown}") +
                         (model.PendingWork.Count > 3 ? ", …" : "") + "): an interrupted run or watch left them, so those tables are behind their landing " +
                         "objects. `stedi run --keep` (with the same landing folder) or `stedi watch --once` finishes them");
        }
        if (model.Balanced)
        {
            Stderr.Line(t.Objects == 0
                ? "the lake has no landing objects yet"
                : string.Create(CultureInfo.InvariantCulture, $"{(t.Objects == 1 ? "the one landing object balances" : $"all {t.Objects:N0} landing objects balance")}: {t.RowsRead:N0} rows read = {t.Accepted:N0} accepted + {t.Filtered:N0} filtered + {t.Quarantined:N0} quarantined") +
                  (t.Skipped > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({t.Skipped:N0} skipped: not a data file's name)") : ""));
            return model.Complete ? ExitCodes.Ok : ExitCodes.DataProblem;
        }
        // Name the causes found, not every cause there is.
        var causes = new List<string>();
        var unbalanced = model.Unbalanced;
        void Cause(string status, string what) { var n = unbalanced.Count(o => o.Status == status); if (n > 0) causes.Add($"{n:N0} {what} ({status})"); }
        Cause(ObjectReconciliation.NotIngestedStatus, "under a landing prefix but never ingested");
        Cause(ObjectReconciliation.ChangedStatus, "replaced, the new content not ingested");
        Cause(ObjectReconciliation.NotRetractedStatus, "deleted, the rows not retracted");
        var counted = unbalanced.Count(o => o.Status is not (ObjectReconciliation.NotIngestedStatus or ObjectReconciliation.ChangedStatus or ObjectReconciliation.NotRetractedStatus));
        if (counted > 0) causes.Add($"{counted:N0} with staged rows no refine outcome has counted (refresh work that has not run, or a mismatch)");
        Stderr.Error(string.Create(CultureInfo.InvariantCulture,
            $"{t.UnbalancedObjects:N0} of {t.Objects:N0} landing objects do not balance ({t.Unaccounted:N0} rows unaccounted): ") + string.Join("; ", causes) + ". " +
            "`stedi watch --once` delivers the missing events and finishes pending work (as does `stedi run --keep` for its landing folder)");
        return ExitCodes.DataProblem;
    }

    /// <summary>The per-object rows as the table shows them (numbers with thousands separators, right-aligned), with a total row.</summary>
    internal static QueryPage TablePage(ReportModel m)
    {
        static string Map(IReadOnlyDictionary<string, long> d) => string.Join(", ", d.Select(kv => $"{kv.Key} {N(kv.Value)}"));
        static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
        var rows = m.Objects.Select(o => new object?[]
        {
            o.LandingKey, o.Source, o.Status, N(o.RowsRead), N(o.Accepted), Map(o.Filtered), N(o.Quarantined), Map(o.QuarantinedByReason), N(o.Unaccounted), o.Balanced ? "yes" : "NO", o.Note,
        }).ToList();
        var t = m.Totals;
        rows.Add(["total", "", "", N(t.RowsRead), N(t.Accepted), N(t.Filtered), N(t.Quarantined), "", N(t.Unaccounted), m.Balanced ? "yes" : "NO", t.Skipped > 0 ? $"{t.Skipped} skipped" : ""]);
        string[] columns = ["landing object", "source", "status", "read", "accepted", "filtered", "quarantined", "reasons", "unaccounted", "balanced", "note"];
        Type[] types = [typeof(string), typeof(string), typeof(string), typeof(long), typeof(long), typeof(string), typeof(long), typeof(string), typeof(long), typeof(string), typeof(string)];
        return new QueryPage(columns, types, rows, rows.Count);
    }

    /// <summary>The per-object rows for csv and json.</summary>
    internal static QueryPage DataPage(ReportModel m)
    {
        var rows = m.Objects.Select(o => new object?[]
        {
            o.LandingKey, o.Source, o.Status, o.RowsRead, o.Accepted, o.Filtered, o.Quarantined, o.QuarantinedByReason, o.Unaccounted, o.Balanced, o.DuplicateOf, o.SkippedReason,
        }).ToList();
        string[] columns = ["landing_key", "source", "status", "rows_read", "accepted", "filtered", "quarantined", "quarantined_by_reason", "unaccounted", "balanced", "duplicate_of", "skipped_reason"];
        Type[] types = [typeof(string), typeof(string), typeof(string), typeof(long), typeof(long), typeof(object), typeof(long), typeof(object), typeof(long), typeof(bool), typeof(string), typeof(string)];
        return new QueryPage(columns, types, rows, rows.Count);
    }

}
