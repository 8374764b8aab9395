using System.Diagnostics;
using System.Text;

namespace Stedi.Cli.Tests;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("stedi-cli-tests-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class Repo
{
    /// <summary>The repository root (the folder holding StediServerless.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The real STEDI landing data shipped in the repo.</summary>
    public static string Landing => Path.Combine(Root, "data", "stedi", "landing");

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "StediServerless.sln"))) return d.FullName;
        throw new InvalidOperationException("StediServerless.sln not found above " + AppContext.BaseDirectory);
    }

    public static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
        Directory.CreateDirectory(to);
    }
}

/// <summary>What a <c>stedi</c> process did.</summary>
public sealed record StediResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the built <c>stedi</c> (the referenced executable's <c>stedi.dll</c>) as a process, as a user would.</summary>
public static class Stedi
{
    /// <summary>stedi.dll beside the tests (copied there because the test project references the executable).</summary>
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "stedi.dll");

    public static StediResult Run(params string[] args) => RunIn(Repo.Root, null, args);

    public static StediResult RunWithInput(string stdin, params string[] args) => RunIn(Repo.Root, stdin, args);

    public static StediResult RunIn(string workingDirectory, string? stdin, string[] args, IReadOnlyDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // A deterministic environment: no profile or AWS settings leaking in from the machine running the tests.
        foreach (var name in new[] { "STEDI_PROFILE", "STEDI_LAKE_BUCKET", "STEDI_ENDPOINT_URL" }) psi.Environment.Remove(name);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"stedi {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new StediResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>
/// A small real run, made once for the test classes that only read it: the real customer file, one accelerometer and
/// one Step Trainer file, and a damaged accelerometer file with three bad records (so the quarantine has rows), run
/// with profile rubric. Tests that write copy it first (<see cref="CopyLake"/>).
/// </summary>
public sealed class SmallLake : IDisposable
{
    public const string CustomerFile = "customer-1691348231425.json";
    public const string AccelerometerFile = "accelerometer-1691348232031.json";
    public const string StepTrainerFile = "step_trainer-1691348232132.json";

    /// <summary>Two good readings, then a record cut short, a line of garbage (read as part of the cut record), a missing timestamp and a timestamp that is not a number.</summary>
    public const string DamagedFile = """
        {"user":"Jane.Olson@test.com","timestamp":1655564439145,"x":1.0,"y":0.0,"z":-1.0}
        {"user":"Jane.Olson@test.com","timestamp":1655564439146,"x":1.0,"y":0.0
        {"user":"Jane.Olson@test.com","x":1.0,"y":0.0,"z":-1.0}
        {"user":"Jane.Olson@test.com","timestamp":"soon","x":1.0,"y":0.0,"z":-1.0}
        {"user":"Jane.Olson@test.com","timestamp":1655564439147,"x":1.0,"y":0.0,"z":-1.0}

        """;

    private readonly TempFolder _folder = new();

    public SmallLake()
    {
        Landing = Path.Combine(_folder.Path, "landing");
        WriteLanding(Landing);
        Lake = Path.Combine(_folder.Path, "lake");
        RunResult = Stedi.Run("run", "--profile", "rubric", "--landing", Landing, "--lake", Lake, "--parallelism", "2");
        if (RunResult.ExitCode != 0) throw new InvalidOperationException("the small run failed: " + RunResult);
    }

    public string Landing { get; }
    public string Lake { get; }
    public StediResult RunResult { get; }

    public static void WriteLanding(string landing)
    {
        foreach (var (source, file) in new[] { ("customer", CustomerFile), ("accelerometer", AccelerometerFile), ("step_trainer", StepTrainerFile) })
        {
            Directory.CreateDirectory(Path.Combine(landing, source));
            File.Copy(Path.Combine(Repo.Landing, source, file), Path.Combine(landing, source, file));
        }
        File.WriteAllText(Path.Combine(landing, "accelerometer", "damaged.json"), DamagedFile);
    }

    /// <summary>A copy of the lake that a test may change.</summary>
    public string CopyLake(TempFolder into)
    {
        var copy = Path.Combine(into.Path, "lake");
        Repo.CopyFolder(Lake, copy);
        return copy;
    }

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class SmallLakeCollection : ICollectionFixture<SmallLake>
{
    public const string Name = "small lake";
}

/// <summary>Rows per published table, read with stedi query (the tables a writer must leave alone).</summary>
public static class TableCounts
{
    public const string Sql = "SELECT 'customer_trusted' AS t, count(*) AS n FROM customer_trusted UNION ALL SELECT 'accelerometer_trusted', count(*) FROM accelerometer_trusted " +
                              "UNION ALL SELECT 'customer_curated', count(*) FROM customer_curated UNION ALL SELECT 'step_trainer_trusted', count(*) FROM step_trainer_trusted " +
                              "UNION ALL SELECT 'machine_learning_curated', count(*) FROM machine_learning_curated ORDER BY t";

    public static string Of(string lake)
    {
        var r = Stedi.Run("query", "--lake", lake, "--format", "csv", Sql);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }
}
