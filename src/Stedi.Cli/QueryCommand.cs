using System.ComponentModel;
using System.Text;
using DuckDB.NET.Data;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Cli.Output;
using Stedi.Lakehouse.Local;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi query</c>.</summary>
public sealed class QuerySettings : LakeSettings
{
    /// <summary>Default row cap of the table and markdown formats (as DuckDB's CLI).</summary>
    public const int DefaultMaxRows = 40;

    /// <summary>What a lone <c>-</c> on the command line becomes before parsing (the parser reads <c>-</c> as an option).</summary>
    internal const string StandardInput = "\u0001standard-input";

    /// <summary>SQL.</summary>
    [CommandArgument(0, "[SQL]")]
    [Description("SQL over customer_trusted, accelerometer_trusted, customer_curated, step_trainer_trusted, machine_learning_curated " +
                 "and quarantine (source_key, line_number, byte_offset, reason, detail, raw). Several statements separated by ; all run and " +
                 "the last result is shown. - reads the SQL from standard input, as does leaving it out when standard input is not a terminal")]
    public string? Sql { get; init; }

    /// <summary>SQL file.</summary>
    [CommandOption("-f|--file <FILE>")]
    [Description("Read the SQL from FILE instead")]
    public string? File { get; init; }

    /// <summary>Output format.</summary>
    [CommandOption("--format <FORMAT>")]
    [Description("table, csv, json, jsonl or markdown. Default: table on a terminal (fitted to its width), markdown otherwise. " +
                 "Timestamps are ISO 8601 UTC (…Z), booleans true/false, lists and structs JSON")]
    public string? Format { get; init; }

    /// <summary>Row cap.</summary>
    [CommandOption("--max-rows <N>")]
    [Description("Show at most N rows and say how many more there are; 0 shows every row. Default: 40 for table and markdown, " +
                 "every row for csv, json and jsonl (the count of rows left out goes to standard error for those)")]
    public int? MaxRows { get; init; }

    /// <summary>Emulator endpoint.</summary>
    [CommandOption("--endpoint <URL>")]
    [Description("Query the lake bucket --bucket of an emulated deployment at URL (moto; stedi emulate --serve prints both) instead of a local lake")]
    public string? Endpoint { get; init; }

    /// <summary>Lake bucket.</summary>
    [CommandOption("--bucket <NAME>")]
    [Description("Query the published tables in this lake bucket instead of a local lake: on the emulator at --endpoint, or on AWS without it " +
                 "(default credential chain, AWS_REGION). The Parquet objects of the tables the SQL names are copied to a temporary folder first")]
    public string? Bucket { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        if (Endpoint is not null && Bucket is null)
            return ValidationResult.Error("--endpoint needs --bucket NAME, the lake bucket (stedi emulate --serve prints both)");
        if (Endpoint is not null && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            return ValidationResult.Error($"--endpoint must be an http:// or https:// URL, not '{Endpoint}'");
        if (Bucket is not null && Bucket.Trim().Length == 0) return ValidationResult.Error("--bucket needs a bucket name");
        if (Format is not null && !ResultFormatter.TryParse(Format, out _))
            return ValidationResult.Error($"--format must be table, csv, json, jsonl or markdown, not '{Format}'");
        if (MaxRows < 0) return ValidationResult.Error("--max-rows must be 0 (every row) or more");
        if (File is not null && Sql is not null) return ValidationResult.Error("pass the SQL as an argument or with -f FILE, not both");
        if (File is not null && !System.IO.File.Exists(File)) return ValidationResult.Error($"SQL file not found: {File}");
        return ValidationResult.Success();
    }
}

/// <summary>
/// <c>stedi query</c>: runs SQL over the lake with DuckDB and prints the last statement's result the way DuckDB's CLI
/// does (see <see cref="ResultFormatter"/>). The lake is a local folder, or a lake bucket (<c>--bucket</c>, on an
/// emulator with <c>--endpoint</c>) whose tables are copied first (<see cref="BucketCopy"/>).
/// </summary>
public sealed class QueryCommand : AsyncCommand<QuerySettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, QuerySettings s, CancellationToken ct)
    {
        var sql = ReadSql(s);
        if (s.Bucket is not null)
        {
            using var copy = await BucketCopy.DownloadAsync(s.Bucket.Trim(), s.Endpoint?.TrimEnd('/'), sql, ct);
            return Run(s, sql, copy.Catalog);
        }
        if (!Directory.Exists(Path.Combine(s.Lake, "catalog")))
            throw new UsageException($"no lake in {ShownPath.Of(s.Lake)} (no catalog folder): run `stedi run` first, or pass --lake DIR (or --bucket NAME for a lake bucket)");
        return Run(s, sql, new JsonCatalog(Path.Combine(s.Lake, "catalog"), Path.Combine(s.Lake, LocalLake.BucketName)));
    }

    private static int Run(QuerySettings s, string sql, JsonCatalog catalog)
    {
        var terminal = !Console.IsOutputRedirected;
        ResultFormatter.TryParse(s.Format ?? (terminal ? "table" : "markdown"), out var format);
        var human = format is OutputFormat.Table or OutputFormat.Markdown;
        int? cap = s.MaxRows switch { 0 => null, { } n => n, null => human ? QuerySettings.DefaultMaxRows : null };

        QueryPage page;
        try { page = new DuckDbQueryEngine(catalog).QueryScript(sql, cap); }
        catch (DuckDBException e)
        {
            var hint = e.Message.Contains("Table with name", StringComparison.Ordinal)
                ? "\nthe tables you can query: " + string.Join(", ", catalog.LoadAll().Select(t => t.Name).Append("quarantine"))
                : "";
            // DuckDB suggests its own catalog's tables ("Did you mean "pg_sequences"?"): not the lake's, so left out.
            var message = System.Text.RegularExpressions.Regex.Replace(e.Message.TrimEnd(),
                @"\nDid you mean ""(pg_|duckdb_|information_schema|sqlite_)[^""]*""\?", "");
            throw new UsageException("query failed: " + message + hint);
        }

        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
        ResultFormatter.Write(stdout, page, format, format == OutputFormat.Table && terminal ? ResultFormatter.TerminalWidth() : null);
        stdout.Flush();
        if (!human && ResultFormatter.MoreRowsLine(page) is { } more) Stderr.Line(more);
        return ExitCodes.Ok;
    }

    private static string ReadSql(QuerySettings s)
    {
        string sql;
        if (s.File is not null) sql = System.IO.File.ReadAllText(s.File);
        else if (s.Sql == QuerySettings.StandardInput || (s.Sql is null && Console.IsInputRedirected)) sql = Console.In.ReadToEnd();
        else if (s.Sql is null)
            throw new UsageException("no SQL: pass it as an argument (stedi query \"SELECT …\"), with -f FILE, or on standard input (stedi query - < FILE)");
        else sql = s.Sql;
        if (string.IsNullOrWhiteSpace(sql))
            throw new UsageException(s.File is not null ? $"{s.File} holds no SQL" : "the SQL is empty");
        return sql;
    }

}
