using Spectre.Console.Cli;
using Stedi.Cli;

var app = new CommandApp();
app.Configure(c =>
{
    c.SetApplicationName("stedi");
    c.UseStrictParsing(); // a mistyped option (--profle rubric) is an error, never silently the default
    c.AddCommand<RunCommand>("run")
        .WithDescription("Replay every landing file as an S3 ObjectCreated event through the ingest and refine code the Lambdas run, on a local lake.")
        .WithExample("run").WithExample("run", "--profile", "rubric").WithExample("run", "--shuffle", "7", "--duplicate", "--parallelism", "4");
    c.AddCommand<QueryCommand>("query")
        .WithDescription("Run SQL over the lake's five tables with DuckDB, as in the Athena console.")
        .WithExample("query", "--format", "csv", "\"SELECT count(*) FROM machine_learning_curated\"");
    c.AddCommand<WatchCommand>("watch")
        .WithDescription("Process files as they are dropped into the lake's landing prefixes (the local twin of the S3 landing bucket).");
    c.AddCommand<ReportCommand>("report")
        .WithDescription("Reconcile a lake: per landing object, rows read = accepted + filtered + quarantined.");
    CliExtensions.Configure(c);
});
return await app.RunAsync(args);
