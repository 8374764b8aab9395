using System.Diagnostics;
using Xunit.Abstractions;

namespace Stedi.Lakehouse.Local.Tests;

using New = Stedi.Lakehouse.Index;
using Old = Stedi.Lakehouse.Ports;

/// <summary>A test that runs only with <c>STEDI_PERF=1</c>: measurements, never part of a normal run.</summary>
public sealed class PerfFactAttribute : FactAttribute
{
    public PerfFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("STEDI_PERF") != "1") Skip = "a measurement: set STEDI_PERF=1 to run it";
    }
}

/// <summary>
/// Wall time of many small index calls, the old adapter (a connection, PRAGMAs and re-prepared IN lists per call)
/// against the new one (one connection, cached statements, json_each). Prints; asserts nothing about time.
/// Run: <c>STEDI_PERF=1 dotnet test -c Release test/Stedi.Lakehouse.Local.Tests --filter IndexMicroBenchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class IndexMicroBenchmark(ITestOutputHelper output) : IDisposable
{
    private const int Calls = 10_000;
    private readonly TempFolder _root = new();

    public void Dispose() => _root.Dispose();

    [PerfFact]
    public async Task Ten_thousand_small_calls_old_adapter_against_new()
    {
        using var old = new SqliteConsentIndex(Path.Combine(_root.Path, "old", "index.sqlite"));
        using var local = LocalIndex.Open(Path.Combine(_root.Path, "new", LocalLake.IndexFileName), New.HmacCustomerKeys.FromText("benchmark-secret-0123"));
        var index = local.Index;
        static string Key(int i) => $"{i:x64}";
        var many = Enumerable.Range(0, 1_000).Select(Key).ToList();

        var rows = new List<(string Call, double Old, double New)>
        {
            ("PutVersions (1 version)", await TimeAsync(i => old.PutCustomerVersionsAsync([new Old.CustomerVersion(Key(i), "v1", $"s{i}", i, true, i, "{}")])),
                                       await TimeAsync(i => index.Customers.PutVersionsAsync([new New.CustomerVersion(Key(i), "v1", $"s{i}", i, true, i, "{}")]))),
            ("GetVersions (1 key)", await TimeAsync(i => old.GetCustomerVersionsAsync([Key(i)])),
                                   await TimeAsync(i => index.Customers.GetVersionsAsync([Key(i)]))),
            ("AddMembership (10 facts)", await TimeAsync(i => old.AddMembershipAsync([.. Enumerable.Range(0, 10).Select(h => new Old.PartitionMembership("accelerometer", Key(i), $"h{h}"))])),
                                        await TimeAsync(i => index.Partitions.AddMembershipAsync([.. Enumerable.Range(0, 10).Select(h => new New.PartitionMembership(New.MemberKind.Customer, Key(i), $"h{h}"))]))),
            ("GetPartitions (1 member)", await TimeAsync(i => old.GetPartitionsAsync("accelerometer", [Key(i)])),
                                        await TimeAsync(i => index.Partitions.GetPartitionsAsync(New.MemberKind.Customer, [Key(i)]))),
            ("GetVersions (1,000 keys) x1,000", await TimeAsync(_ => old.GetCustomerVersionsAsync(many), Calls / 10),
                                               await TimeAsync(_ => index.Customers.GetVersionsAsync(many), Calls / 10)),
        };

        output.WriteLine($"{"call",-34} {"old ms",10} {"new ms",10} {"old/new",8}");
        foreach (var (call, o, n) in rows) output.WriteLine($"{call,-34} {o,10:F0} {n,10:F0} {o / n,8:F1}");
        output.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()}");
    }

    private static async Task<double> TimeAsync(Func<int, Task> call, int calls = Calls)
    {
        for (var i = 0; i < 50; i++) await call(calls + i); // warm-up: JIT, statements, page cache
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++) await call(i);
        return clock.Elapsed.TotalMilliseconds;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
