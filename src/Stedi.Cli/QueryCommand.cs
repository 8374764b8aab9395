using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Lakehouse.Local;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi query</c>.</summary>
public sealed class QuerySettings : LakeSettings
{
    /// <summary>SQL.</summary>
    [CommandArgument(0, "<SQL>")]
    [Description("SQL over customer_trusted, accelerometer_trusted, customer_curated, step_trainer_trusted, machine_learning_curated")]
    public string Sql { get; init; } = "";

    /// <summary>Output format.</summary>
    [CommandOption("--format <FORMAT>")]
    [Description("table (default) or csv")]
    public string Format { get; init; } = "table";

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Format is "table" or "csv" ? ValidationResult.Success() : ValidationResult.Error($"--format must be table or csv, not '{Format}'");
}

/// <summary><c>stedi query</c>.</summary>
public sealed class QueryCommand : Command<QuerySettings>
{
    /// <inheritdoc />
    public override int Execute(CommandContext context, QuerySettings s, CancellationToken ct)
    {
        if (!Directory.Exists(Path.Combine(s.Lake, "catalog")))
        {
            AnsiConsole.MarkupLine($"[red]no lake catalog in {Markup.Escape(s.Lake)}[/]: run [bold]stedi run[/] first, or pass --lake");
            return 2;
        }
        var catalog = new JsonCatalog(Path.Combine(s.Lake, "catalog"), Path.Combine(s.Lake, LocalLake.BucketName));
        QueryResult result;
        try { result = new DuckDbQueryEngine(catalog).Query(s.Sql); }
        catch (Exception e) when (e.GetType().Name.Contains("DuckDB", StringComparison.Ordinal))
        {
            AnsiConsole.MarkupLine($"[red]query failed:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
        if (s.Format == "csv")
        {
            Console.WriteLine(string.Join(',', result.Columns.Select(Csv)));
            foreach (var r in result.Rows) Console.WriteLine(string.Join(',', r.Select(v => Csv(Format(v)))));
            return 0;
        }
        var t = new Table();
        foreach (var c in result.Columns) t.AddColumn(Markup.Escape(c));
        foreach (var r in result.Rows) t.AddRow(r.Select(v => Markup.Escape(Format(v))).ToArray());
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine($"[grey]{result.Rows.Count:N0} row(s)[/]");
        return 0;
    }

    private static string Format(object? v) => v switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private static string Csv(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
