using Stedi.Twin;
using System.ComponentModel;
using System.Diagnostics;
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
    /// <summary>Landing folder.</summary>
    [CommandOption("--landing <DIR>")]
    [Description("Folder holding customer/, accelerometer/ and step_trainer/ landing files. Default: data/stedi/landing")]
    public string Landing { get; init; } = Path.Combine("data", "stedi", "landing");

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
    public int MaxReceives { get; init; } = 5;

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
        if (!Enum.TryParse<ConsentProfile>(Profile, true, out _)) return ValidationResult.Error($"--profile must be strict or rubric, not '{Profile}'");
        if (MaxReceives is < 1 or > 1000) return ValidationResult.Error("--max-receives must be between 1 and 1000");
        if (!Directory.Exists(Landing)) return ValidationResult.Error($"landing folder not found: {Landing} (run from the repository root, or pass --landing)");
        if (LandingFolderCheck.Problem(Landing) is { } problem) return ValidationResult.Error(problem);
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
        MotoProcess? moto = null;
        string endpoint;
        if (s.Endpoint is null)
        {
            AnsiConsole.MarkupLine("starting moto ([grey]python3 -m moto.server[/])…");
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
            AnsiConsole.MarkupLine($"moto at [bold]{Markup.Escape(endpoint)}[/]: bucket [bold]{Markup.Escape(deployment.Lake.Config.Bucket)}[/], " +
                $"3 landing queues + FIFO refresh queue (DLQs after {s.MaxReceives} receives), table {Markup.Escape(deployment.Lake.Config.IndexTable)}, Glue database {Markup.Escape(deployment.Lake.Config.GlueDatabase)}");
            await AnsiConsole.Progress()
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
                                task.Description = $"{name}: {deleted:N0} done" + (failed > 0 ? $", {failed:N0} failed" : "");
                            }
                            try { await Task.Delay(200, refresh.Token); } catch (OperationCanceledException) { }
                        }
                    });
                    await deployment.UploadAsync(s.Landing, null, (d, n) => { upload.MaxValue = n; upload.Value = d; }, ct);
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
}
