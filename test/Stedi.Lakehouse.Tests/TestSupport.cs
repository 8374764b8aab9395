using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stedi.Twin;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("stedi-lakehouse-tests-").FullName;

    public string Sub(string name)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

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

    /// <summary>Copies a landing folder (every source) to <paramref name="target"/>, keeping only files <paramref name="keep"/> accepts.</summary>
    public static void CopyLanding(string from, string target, Func<string, bool>? keep = null)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*.json", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, file).Replace('\\', '/');
            if (keep is not null && !keep(rel)) continue;
            var dest = Path.Combine(target, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }
}

/// <summary>Canonical text of rows, so tables compare as sorted multisets (doubles compared bit for bit).</summary>
public static class Rows
{
    public static string Text(object?[] row) => string.Join('|', row.Select(Value));

    private static string Value(object? v) => v switch
    {
        null or DBNull => "null",
        string s => "s" + JsonSerializer.Serialize(s),
        long l => "i" + l.ToString(CultureInfo.InvariantCulture),
        int i => "i" + i.ToString(CultureInfo.InvariantCulture),
        short i => "i" + i.ToString(CultureInfo.InvariantCulture),
        double d => "d" + BitConverter.DoubleToInt64Bits(d).ToString("x16", CultureInfo.InvariantCulture) + "(" + d.ToString("R", CultureInfo.InvariantCulture) + ")",
        _ => throw new InvalidOperationException($"unexpected value type {v.GetType()}"),
    };

    public static List<string> Sorted(IEnumerable<object?[]> rows) => rows.Select(Text).Order(StringComparer.Ordinal).ToList();

    public static string Digest(IEnumerable<string> sortedRows)
    {
        using var sha = SHA256.Create();
        var bytes = Encoding.UTF8.GetBytes(string.Join('\n', sortedRows));
        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    /// <summary>Asserts two sorted multisets are equal, showing a few rows on each side when they are not.</summary>
    public static void AssertSameRows(string table, IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        if (expected.SequenceEqual(actual, StringComparer.Ordinal)) return;
        var exp = expected.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var act = actual.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var missing = exp.Where(kv => act.GetValueOrDefault(kv.Key) < kv.Value).Select(kv => $"{kv.Key} (oracle x{kv.Value}, pipeline x{act.GetValueOrDefault(kv.Key)})").Take(5);
        var extra = act.Where(kv => exp.GetValueOrDefault(kv.Key) < kv.Value).Select(kv => $"{kv.Key} (pipeline x{kv.Value}, oracle x{exp.GetValueOrDefault(kv.Key)})").Take(5);
        Assert.Fail($"{table}: oracle {expected.Count} rows, pipeline {actual.Count} rows.\n  missing from pipeline:\n    {string.Join("\n    ", missing)}\n  extra in pipeline:\n    {string.Join("\n    ", extra)}");
    }
}

/// <summary>One pipeline run over a landing folder into a lake folder, and its tables read back through DuckDB.</summary>
public sealed class LakeRun : IDisposable
{
    private LakeRun(LocalPipeline pipeline, RunSummary summary, string lakeRoot)
    {
        Pipeline = pipeline;
        Summary = summary;
        LakeRoot = lakeRoot;
    }

    public LocalPipeline Pipeline { get; }
    public RunSummary Summary { get; }
    public string LakeRoot { get; }
    public ConsentProfile Profile => Pipeline.Profile;

    public static async Task<LakeRun> RunAsync(string landingDir, string lakeRoot, ConsentProfile profile,
        ReplayOptions? replay = null, int parallelism = 2, Random? queueShuffle = null, LakeOptions? options = null, long? cacheBytes = null)
    {
        var pipeline = new LocalPipeline(lakeRoot, profile, parallelism, queueShuffle, options: options, cacheBytes: cacheBytes);
        try
        {
            var started = DateTime.UtcNow;
            var outcomes = await pipeline.ReplayAsync(landingDir, replay ?? new ReplayOptions());
            var summary = await pipeline.SummarizeAsync(DateTime.UtcNow - started, outcomes);
            return new LakeRun(pipeline, summary, lakeRoot);
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>Every row of a published table (partition column excluded) in the oracle's column order.</summary>
    public List<object?[]> Read(string table)
    {
        var cols = BatchOracle.Columns(Profile)[table];
        var sql = $"SELECT {string.Join(", ", cols.Select(c => "\"" + c + "\""))} FROM {table}";
        return Pipeline.Lake.CreateQueryEngine().Query(sql).Rows.ToList();
    }

    /// <summary>Sorted canonical rows of every published table.</summary>
    public Dictionary<string, List<string>> ReadAllSorted() =>
        BatchOracle.TableNames.ToDictionary(t => t, t => Rows.Sorted(Read(t)));

    public void Dispose() => Pipeline.Dispose();
}

/// <summary>The full real data through the pipeline once per test class, and the oracle over the same files.</summary>
public abstract class RealDataRunFixture : IAsyncLifetime
{
    private readonly TempFolder _temp = new();

    protected abstract ConsentProfile Profile { get; }

    public LakeRun Run { get; private set; } = null!;
    public Dictionary<string, List<string>> Pipeline { get; private set; } = null!;
    public Dictionary<string, List<string>> Oracle { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var oracle = Task.Run(() => BatchOracle.Compute(Repo.Landing, Profile).ToDictionary(kv => kv.Key, kv => Rows.Sorted(kv.Value)));
        Run = await LakeRun.RunAsync(Repo.Landing, _temp.Sub("lake"), Profile);
        Pipeline = Run.ReadAllSorted();
        Oracle = await oracle;
    }

    public Task DisposeAsync()
    {
        Run?.Dispose();
        _temp.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class StrictRealDataFixture : RealDataRunFixture
{
    protected override ConsentProfile Profile => ConsentProfile.Strict;
}

public sealed class RubricRealDataFixture : RealDataRunFixture
{
    protected override ConsentProfile Profile => ConsentProfile.Rubric;
}
