using Stedi.Twin;
using Spectre.Console;

namespace Stedi.Cli;

/// <summary>Renders a <see cref="RunSummary"/> as tables.</summary>
internal static class SummaryView
{
    /// <param name="s">The summary.</param>
    /// <param name="scope">What the session's own counts (events, recomputes) cover: "run" or "session"; the table rows and partitions with output are the lake's.</param>
    public static void Render(RunSummary s, string scope = "run")
    {
        var t = new Table().Title($"[bold]profile {s.Profile}[/] — {s.ElapsedSeconds:0.00} s").AddColumn("table").AddColumn(new TableColumn("rows").RightAligned()).AddColumn("filtered by rule");
        // Pipeline order (customer_trusted → … → machine_learning_curated), as in the README.
        var order = Stedi.Lakehouse.Schema.Tables.Published(Stedi.Lakehouse.Schema.ConsentProfile.Strict).Select(t => t.Name).ToList();
        foreach (var (name, rows) in s.Tables.OrderBy(kv => order.IndexOf(kv.Key) is var i && i < 0 ? int.MaxValue : i))
        {
            var f = s.Filtered.TryGetValue(name, out var d) && d.Count > 0 ? string.Join(", ", d.Select(kv => $"{kv.Key} {kv.Value:N0}")) : "";
            t.AddRow(name, rows.ToString("N0"), Markup.Escape(f));
        }
        AnsiConsole.Write(t);
        var q = s.QuarantinedByReason.Count > 0 ? " (" + string.Join(", ", s.QuarantinedByReason.Select(kv => $"{kv.Key} {kv.Value:N0}")) + ")" : "";
        AnsiConsole.MarkupLine(Markup.Escape(
            $"objects {s.Objects:N0}, events {s.Events:N0} (already processed {s.AlreadyProcessed:N0}, failed {s.Failed:N0}{(s.Skipped > 0 ? $", skipped {s.Skipped:N0} by name" : "")}); rows read " +
            (s.RowsRead.Count == 0 ? "none" : string.Join(", ", s.RowsRead.Select(kv => $"{kv.Key} {kv.Value:N0}"))) +
            $"; normalised {s.Normalized:N0}; quarantined {s.Quarantined:N0}{q}; recomputes {s.Recomputes:N0} in this {scope}, {s.PartitionsWithOutput:N0} partitions with output in the lake"));
    }
}
