using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Cli;
using Stedi.Lakehouse.Local;

var app = new CommandApp();
app.Configure(c =>
{
    c.SetApplicationName("stedi");
    c.UseAssemblyInformationalVersion(); // stedi --version
    c.UseStrictParsing(); // a mistyped option (--profle rubric) is an error, never silently the default
    c.CancellationExitCode(ExitCodes.Interrupted);
    c.SetExceptionHandler((e, _) => ExitCodeOf(e));
    c.SetInterceptor(new RedirectedOutputInterceptor());
    c.AddCommand<RunCommand>("run")
        .WithDescription("Replay every landing file as an S3 ObjectCreated event through the ingest and refine code the Lambdas run, on a local lake. " +
                         "Starts a fresh lake (recording its profile) unless --keep.")
        .WithExample("run").WithExample("run", "--profile", "rubric").WithExample("run", "--shuffle", "7", "--duplicate", "--parallelism", "4")
        .WithExample("run", "--keep", "--landing", "more-files");
    c.AddCommand<QueryCommand>("query")
        .WithDescription("Run SQL over the lake with DuckDB, as in the Athena console: the five tables and a quarantine view. " +
                         "Prints a table fitted to the terminal (markdown when the output is not a terminal), or csv, json, jsonl.")
        .WithExample("query", "\"SELECT count(*) FROM machine_learning_curated\"")
        .WithExample("query", "--format", "csv", "--max-rows", "0", "\"SELECT * FROM customer_trusted\"")
        .WithExample("query", "-f", "checks.sql")
        .WithExample("query", "\"SELECT reason, count(*) FROM quarantine GROUP BY ALL\"");
    c.AddCommand<WatchCommand>("watch")
        .WithDescription("Process files as they are dropped into the lake's landing prefixes (the local twin of the S3 landing bucket); " +
                         "prints one line per poll that changed something, and a summary when stopped.")
        .WithExample("watch").WithExample("watch", "--once", "--lake", "lake");
    c.AddCommand<ReportCommand>("report")
        .WithDescription("Reconcile a lake: per landing object, rows read = accepted + filtered (by rule) + quarantined. " +
                         "Exits 1 when an object does not balance or an interrupted run left work to do. --html writes a page with the flow of rows and charts.")
        .WithExample("report").WithExample("report", "--format", "csv").WithExample("report", "--html", "report.html");
    CliExtensions.Configure(c);
});
// Spectre.Console.Cli reads a lone "-" as an option without a name; stedi query - means "the SQL is on standard input".
args = args.Select(a => a == "-" ? QuerySettings.StandardInput : a).ToArray();
if (args.Length == 0)
{
    // No command is a usage error; say what there is (the help on standard output) and why it failed (standard error).
    await app.RunAsync(["--help"]);
    Stderr.Error("no command given: choose one of the commands above (stedi <command> --help explains each)");
    return ExitCodes.Usage;
}
// "stedi help" and "stedi help run", as git and dotnet spell it: the same as --help.
if (args[0] == "help") args = args.Length > 1 ? [args[1], "--help"] : ["--help"];
return await app.RunAsync(args);

// The parser's own words for a value that is not a number name a .NET type ("Failed to convert 'abc' to Nullable`1."):
// say which option and what it takes (every numeric option takes a whole number).
static string? NotANumber(string message, string[] args)
{
    var m = System.Text.RegularExpressions.Regex.Match(message, @"^Failed to convert '(.*)' to (Nullable`1|Int32|Int64)\.$");
    if (!m.Success) return null;
    var numeric = MissingValues.NumberOptions;
    var value = m.Groups[1].Value;
    if (value == MissingValues.Placeholder)
    {
        // Given without a value: the parser filled in its placeholder; name the number option that has nothing after it.
        var bare = args.Select((a, i) => (a, i)).FirstOrDefault(t => numeric.Contains(t.a) && (t.i == args.Length - 1 || args[t.i + 1].StartsWith('-'))).a;
        return $"{bare ?? "a number option"} needs a value (a whole number) right after it";
    }
    // The option whose value it is: "--opt value" or "--opt=value" (the value alone may also be another option's).
    string? option = null;
    for (var i = 0; i < args.Length && option is null; i++)
    {
        if (args[i] == value && i > 0 && numeric.Contains(args[i - 1])) option = args[i - 1];
        else if (args[i].EndsWith("=" + value, StringComparison.Ordinal) && numeric.Contains(args[i][..^(value.Length + 1)])) option = args[i][..^(value.Length + 1)];
    }
    var digits = value.Length > 0 && value.TrimStart('-').All(char.IsAsciiDigit) && value.TrimStart('-').Length > 0;
    return $"{option ?? "a number option"}: '{value}' is {(digits ? "too large" : "not a whole number")}";
}

// Every failure ends here with one of the documented exit codes (see ExitCodes), its message on standard error.
int ExitCodeOf(Exception e)
{
    switch (e)
    {
        case CommandAppException app when NotANumber(app.Message, args) is { } message:
            Stderr.Error(message);
            return ExitCodes.Usage;
        case CommandAppException app when MissingValues.UnknownOption(app.Message, args) is { } message:
            Stderr.Error(message);
            return ExitCodes.Usage;
        case CommandAppException app:
            // One line, the hint at its end, as for a mistyped option; the parser's drawn errors keep their drawing.
            var hint = MissingValues.HelpHint(args.Length > 0 ? args[0] : null);
            if (app.Pretty is { } pretty)
            {
                Stderr.Console.Write(pretty);
                Stderr.Console.MarkupLine($"[grey]{hint}[/]");
            }
            else Stderr.Error($"{app.Message.TrimEnd()}; {hint}");
            return ExitCodes.Usage;
        case UsageException or LakeProfileMismatchException:
            Stderr.Error(e.Message);
            return ExitCodes.Usage;
        case OperationCanceledException:
            if (!Interruption.Announced) Stderr.Error("interrupted");
            return ExitCodes.Interrupted;
        default:
            Stderr.Error($"{e.Message} ({e.GetType().Name})");
            return ExitCodes.DataProblem;
    }
}
