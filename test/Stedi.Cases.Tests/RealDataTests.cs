using System.Diagnostics;
using Stedi.Twin;
using Stedi.Lakehouse.Schema;
using Xunit.Abstractions;

namespace Stedi.Cases.Tests;

/// <summary>The reconciliation on the real STEDI landing data, in both profiles: every landing object balances.</summary>
public sealed class RealDataTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(ConsentProfile.Strict)]
    [InlineData(ConsentProfile.Rubric)]
    public async Task EveryRealLandingObjectReconciles(ConsentProfile profile)
    {
        var sw = Stopwatch.StartNew();
        using var run = new CaseRun(profile);
        var outcomes = await run.P.ReplayAsync(CasePaths.RealLanding, new ReplayOptions());
        Assert.All(outcomes, o => Assert.Equal("ingested", o.Status));
        var landingFiles = Directory.EnumerateFiles(CasePaths.RealLanding, "*", SearchOption.AllDirectories).Count();
        var rec = await run.ReconcileAsync();
        Assert.Equal(landingFiles, rec.Count);
        Assert.All(rec, o => Assert.True(o.Balanced, $"{o.LandingKey}: read {o.RowsRead} != quarantined {o.Quarantined} + accepted {o.Accepted} + filtered {o.Filtered.Values.Sum()} (unaccounted {o.Unaccounted})"));
        long read = rec.Sum(o => o.RowsRead), accepted = rec.Sum(o => o.Accepted), filtered = rec.Sum(o => o.Filtered.Values.Sum()), quarantined = rec.Sum(o => o.Quarantined);
        Assert.Equal(read, accepted + filtered + quarantined);
        var lines = Directory.EnumerateFiles(CasePaths.RealLanding, "*", SearchOption.AllDirectories).Sum(f => File.ReadLines(f).Count(l => l.Trim().Length > 0));
        Assert.Equal(lines, read);
        output.WriteLine($"{profile}: {rec.Count} objects, read {read} = accepted {accepted} + filtered {filtered} + quarantined {quarantined}; {sw.Elapsed.TotalSeconds:F1} s");
    }
}
