using Stedi.Twin;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Spectre.Console;
using Spectre.Console.Cli;
using Stedi.Twin.Emulation;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli;

/// <summary>Settings of <c>stedi emulate</c>.</summary>
public sealed class EmulateSettings : CommandSettings
{
    /// <summary>The default landing folder (without <c>--serve</c>).</summary>
    public static readonly string DefaultLanding = Path.Combine("data", "stedi", "landing");

    /// <summary>Landing folder.</summary>
    [CommandOption("--landing <DIR>")]
    [Description("Folder holding customer/, accelerometer/ and step_trainer/ landing files to upload. Default: data/stedi/landing; " +
                 "with --serve, nothing is uploaded unless --landing is given")]
    public string? Landing { get; init; }

    /// <summary>Keep serving.</summary>
    [CommandOption("--serve")]
    [Description("Keep the deployment running and polling its queues like the event source mappings until Ctrl+C or SIGTERM: prints " +
                 "`ready: bucket=NAME endpoint=URL` and the STEDI_* variables, then a line each time the queues go idle. Upload with " +
                 "aws --endpoint-url URL s3 cp FILE s3://NAME/customer/landing/, query with stedi query --endpoint URL --bucket NAME")]
    public bool Serve { get; init; }

    /// <summary>Profile.</summary>
    [CommandOption("--profile <PROFILE>")]
    [Description("strict (default) or rubric")]
    public string Profile { get; init; } = "strict";

    /// <summary>Endpoint of a running emulator.</summary>
    [CommandOption("--endpoint <URL>")]
    [Description("Use the moto server at URL (its resources are kept afterwards) instead of starting one")]
    public string? Endpoint { get; init; }

    /// <summary>Summary JSON path.</summary>
    [CommandOption("--summary-json <FILE>")]
    [Description("Also write the summary as JSON (row counts under \"tables\")")]
    public string? SummaryJson { get; init; }

    /// <summary>maxReceiveCount.</summary>
    [CommandOption("--max-receives <N>")]
    [Description("Redrive policy maxReceiveCount of every queue: a message failing N times moves to the DLQ. Default: 5 (as the stack)")]
    public int MaxReceives { get; init; } = Stedi.Deployment.Topology.MaxReceiveCount;

    /// <summary>Resource name prefix.</summary>
    [CommandOption("--name <PREFIX>")]
    [Description("Prefix of the resource names. Default: stedi-emu-<random>")]
    public string? Name { get; init; }

    /// <summary>Function log file.</summary>
    [CommandOption("--log <FILE>")]
    [Description("Write the functions' JSON-lines log to FILE (default: not kept)")]
    public string? Log { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (MissingValues.Problem(this) is { } missing) return ValidationResult.Error(missing);
        if (!Enum.TryParse<ConsentProfile>(Profile, true, out _)) return ValidationResult.Error($"--profile must be strict or rubric, not '{Profile}'");
        if (MaxReceives is < 1 or > 1000) return ValidationResult.Error("--max-receives must be between 1 and 1000");
        var landing = Landing ?? (Serve ? null : DefaultLanding);
        if (landing is not null && !Directory.Exists(landing))
            return ValidationResult.Error($"landing folder not found: {landing} (run from the repository root, or pass --landing)");
        if (landing is not null && LandingFolderCheck.Problem(landing) is { } problem) return ValidationResult.Error(problem);
        if (OutputFileCheck.Problem("--summary-json", SummaryJson) is { } summaryProblem) return ValidationResult.Error(summaryProblem);
        return ValidationResult.Success();
    }
}

/// <summary><c>stedi emulate</c>: the deployment on moto, driven like Lambda event source mappings (see <see cref="EmulatedDeployment"/>).</summary>
public sealed class EmulateCommand : AsyncCommand<EmulateSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, EmulateSettings s, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var profile = Enum.Parse<ConsentProfile>(s.Profile, true);
        // Served, standard output is for the ready line, the variables and the status lines; the rest goes to standard error.
        var console = s.Serve ? Stderr.Console : AnsiConsole.Console;
        MotoProcess? moto = null;
        string endpoint;
        if (s.Endpoint is null)
        {
            console.MarkupLine("starting moto ([grey]python3 -m moto.server[/])…");
            try { moto = await MotoProcess.StartAsync(ct: ct); }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                throw new UsageException(e.Message);
            }
            endpoint = moto.Endpoint;
        }
        else
        {
            endpoint = s.Endpoint.TrimEnd('/');
            try { await MotoProcess.WaitReadyAsync(endpoint, TimeSpan.FromSeconds(10), ct); }
            catch (TimeoutException) { throw new UsageException($"no moto answers at {endpoint} (start one: python3 -m moto.server -p 5000), or leave out --endpoint"); }
        }
        StreamWriter? logFile = s.Log is null ? null : new StreamWriter(s.Log, append: true);
        try
        {
            var settings = new EmulationSettings(s.Name ?? EmulationSettings.NewName(), profile, s.MaxReceives);
            using var deployment = await EmulatedDeployment.CreateAsync(endpoint, settings, logFile is null ? null : new JsonLinesLakeLog(logFile), ct);
            if (s.Serve) return await ServeAsync(s, deployment, moto is not null, sw, ct);
            AnsiConsole.MarkupLine($"moto at [bold]{Markup.Escape(endpoint)}[/]: bucket [bold]{Markup.Escape(deployment.Lake.Config.Bucket)}[/], " +
                $"3 landing queues + FIFO refresh queue (DLQs after {s.MaxReceives} receives), table {Markup.Escape(deployment.Lake.Config.IndexTable)}, Glue database {Markup.Escape(deployment.Lake.Config.GlueDatabase)}");
            await Stderr.ProgressConsole.Progress() // on stderr, when it is a terminal: redirected stdout holds the summary only
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var upload = ctx.AddTask("upload landing files");
                    var tasks = deployment.Mappings.GroupBy(m => m.Name).Select(g => (Name: g.Key, Mappings: g.ToList(), Task: ctx.AddTask(g.Key))).ToList();
                    using var refresh = new CancellationTokenSource();
                    var updater = Task.Run(async () =>
                    {
                        while (!refresh.IsCancellationRequested)
                        {
                            foreach (var (name, mappings, task) in tasks)
                            {
                                long received = mappings.Sum(m => m.Received), deleted = mappings.Sum(m => m.Deleted), failed = mappings.Sum(m => m.Failed);
                                task.MaxValue = Math.Max(1, received);
                                task.Value = deleted + failed;
                                task.Description = $"{name}: {deleted:N0} message(s) done" + (failed > 0 ? $", {failed:N0} failed" : "");
                            }
                            try { await Task.Delay(200, refresh.Token); } catch (OperationCanceledException) { }
                        }
                    });
                    await deployment.UploadAsync(s.Landing ?? EmulateSettings.DefaultLanding, null, (d, n) => { upload.MaxValue = n; upload.Value = d; }, ct);
                    await deployment.RunUntilQuietAsync(ct: ct);
                    await refresh.CancelAsync();
                    await updater;
                    foreach (var (_, _, task) in tasks) { task.Value = task.MaxValue; task.StopTask(); }
                });
            var summary = await deployment.SummarizeAsync(sw.Elapsed, ct);
            SummaryView.Render(summary);
            var dead = await deployment.DeadLettersAsync(ct);
            AnsiConsole.MarkupLine(dead == 0 ? "dead-letter queues: empty" : $"[red]dead-letter queues: {dead:N0} message(s)[/]");
            if (s.SummaryJson is not null) await File.WriteAllTextAsync(s.SummaryJson, summary.ToJson(), ct);
            if (moto is null)
            {
                AnsiConsole.MarkupLine("the deployment stays in moto; to invoke its functions: [grey]" +
                    Markup.Escape(string.Join(" ", deployment.Environment.Select(kv => $"{kv.Key}={kv.Value}"))) + " stedi invoke --event FILE[/]");
            }
            return summary.Failed > 0 || dead > 0 ? ExitCodes.DataProblem : ExitCodes.Ok;
        }
        finally
        {
            if (logFile is not null) await logFile.DisposeAsync();
            if (moto is not null) await moto.DisposeAsync();
        }
    }

    /// <summary>
    /// <c>--serve</c>: the deployment as a service. Prints <c>ready: bucket=NAME endpoint=URL</c> and the functions'
    /// <c>STEDI_*</c> variables on standard output, then polls the queues like the event source mappings (the batch sizes and
    /// maxReceiveCount of <see cref="Stedi.Deployment.Topology"/>) until Ctrl+C or SIGTERM, printing one status line each
    /// time the queues go idle after some activity. A first Ctrl+C or SIGTERM lets the invocations in flight finish; a
    /// second one stops at once. Exit 1 when an event failed or a message is in a dead-letter queue at the end.
    /// </summary>
    private static async Task<int> ServeAsync(EmulateSettings s, EmulatedDeployment deployment, bool ownMoto, Stopwatch sw, CancellationToken ct)
    {
        var err = Stderr.Console;
        var bucket = deployment.Lake.Config.Bucket;
        if (s.Landing is not null)
        {
            var keys = await deployment.UploadAsync(s.Landing, null, null, ct);
            err.MarkupLine(Markup.Escape($"uploaded {keys.Count} landing file(s) from {s.Landing}"));
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var signals = 0;
        void OnSignal(PosixSignalContext c)
        {
            if (Interlocked.Increment(ref signals) > 1) { abort.Cancel(); return; }
            c.Cancel = true; // stop gracefully: no new batch is received, the ones in flight finish
            Stderr.Line($"{c.Signal}: stopping after the invocations in flight ({(c.Signal == PosixSignal.SIGINT ? "Ctrl+C" : "SIGTERM")} again stops at once)");
            stop.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var stdout = Console.Out;
        stdout.WriteLine($"ready: bucket={bucket} endpoint={deployment.Endpoint}");
        foreach (var (k, v) in deployment.Environment.Where(kv => kv.Key.StartsWith("STEDI_", StringComparison.Ordinal)))
            stdout.WriteLine($"{k}={v}");
        stdout.Flush();
        err.MarkupLine(Markup.Escape(
            $"serving {bucket} (profile {s.Profile.ToLowerInvariant()}): upload with AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={deployment.Settings.Region} " +
            $"aws --endpoint-url {deployment.Endpoint} s3 cp FILE s3://{bucket}/customer/landing/ (or accelerometer/landing/, step_trainer/landing/); " +
            $"query with stedi query --endpoint {deployment.Endpoint} --bucket {bucket} \"SQL\"; Ctrl+C stops"));

        await deployment.ServeAsync(async token =>
        {
            try { stdout.WriteLine(await IdleLineAsync(deployment, token)); stdout.Flush(); }
            catch (Exception e) when (e is not OperationCanceledException) { Stderr.Warning($"could not read the deployment's state: {e.Message}"); }
        }, stop.Token, abort.Token);
        abort.Token.ThrowIfCancellationRequested();

        var summary = await deployment.SummarizeAsync(sw.Elapsed, CancellationToken.None);
        SummaryView.Render(summary);
        var dead = await deployment.DeadLettersAsync(CancellationToken.None);
        AnsiConsole.MarkupLine(dead == 0 ? "dead-letter queues: empty" : $"[red]dead-letter queues: {dead:N0} message(s)[/]");
        if (s.SummaryJson is not null) await File.WriteAllTextAsync(s.SummaryJson, summary.ToJson(), CancellationToken.None);
        if (!ownMoto) err.MarkupLine(Markup.Escape($"the deployment stays in moto at {deployment.Endpoint} (bucket {bucket})"));
        return summary.Failed > 0 || dead > 0 ? ExitCodes.DataProblem : ExitCodes.Ok;
    }

    /// <summary>
    /// <c>HH:mm:ss idle: ingested N objects (F failed), retracted R; C recomputes; dead letters D; tables customer_trusted …</c>:
    /// what the functions did so far and the rows of each table (from the refine outcomes in the index table).
    /// </summary>
    internal static async Task<string> IdleLineAsync(EmulatedDeployment deployment, CancellationToken ct)
    {
        var outcomes = deployment.IngestOutcomes;
        var ingested = outcomes.Count(o => o.Status == "ingested");
        var failed = outcomes.Count(o => o.Status is "failed" or "too_large");
        var retracted = outcomes.Count(o => o.Status == "retracted");
        var recomputes = deployment.Mappings.Where(m => m.QueueUrl == deployment.RefreshQueue.Url).Sum(m => m.Deleted);
        var dead = await deployment.DeadLettersAsync(ct);
        var rows = (await deployment.Lake.RefineState.ListOutcomesAsync(ct)).GroupBy(o => o.Table).ToDictionary(g => g.Key, g => g.Sum(o => o.RowsOut));
        var tables = Stedi.Lakehouse.Schema.Tables.Published(deployment.Settings.Profile)
            .Select(t => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t.Name} {rows.GetValueOrDefault(t.Name):N0}"));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss} idle: ingested {ingested} object{(ingested == 1 ? "" : "s")} ({failed} failed), retracted {retracted}; " +
            $"{recomputes:N0} recompute{(recomputes == 1 ? "" : "s")}; dead letters {dead}; tables {string.Join(", ", tables)}");
    }
}
