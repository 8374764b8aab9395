using Stedi.Twin;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Refine;

namespace Stedi.Cli;

/// <summary><c>stedi report</c>: the reconciliation of a lake.</summary>
public sealed class ReportCommand : AsyncCommand<LakeSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, LakeSettings s, CancellationToken ct)
    {
        if (!File.Exists(Path.Combine(s.Lake, LocalLake.IndexFileName)))
        {
            AnsiConsole.MarkupLine($"[red]no lake in {Markup.Escape(s.Lake)}[/]: run [bold]stedi run[/] first, or pass --lake");
            return 2;
        }
        using var lake = new LocalLake(s.Lake);
        var rows = await Reconciliation.ComputeAsync(lake.Index, lake.Store, ct);
        var t = new Table().AddColumn("landing object").AddColumn("status").AddColumn(new TableColumn("read").RightAligned())
            .AddColumn(new TableColumn("accepted").RightAligned()).AddColumn("filtered").AddColumn(new TableColumn("quarantined").RightAligned()).AddColumn("balanced");
        foreach (var r in rows)
            t.AddRow(Markup.Escape(r.LandingKey), r.Status, r.RowsRead.ToString("N0"), r.Accepted.ToString("N0"),
                Markup.Escape(string.Join(", ", r.Filtered.Select(kv => $"{kv.Key} {kv.Value:N0}"))), r.Quarantined.ToString("N0"),
                r.Balanced ? "[green]yes[/]" : $"[red]no ({r.Unaccounted:N0} unaccounted)[/]");
        var read = rows.Sum(r => r.RowsRead);
        var acc = rows.Sum(r => r.Accepted);
        var fil = rows.Sum(r => r.Filtered.Values.Sum());
        var q = rows.Sum(r => r.Quarantined);
        t.AddRow("[bold]total[/]", "", read.ToString("N0"), acc.ToString("N0"), fil.ToString("N0"), q.ToString("N0"), rows.All(r => r.Balanced) ? "[green]yes[/]" : "[red]no[/]");
        AnsiConsole.Write(t);
        return rows.All(r => r.Balanced) ? 0 : 1;
    }
}
