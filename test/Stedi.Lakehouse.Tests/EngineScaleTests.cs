using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;
using Stedi.Twin;

namespace Stedi.Lakehouse.Tests;

/// <summary>
/// The engine's answers to scale give the same tables as the plain path: a partition recomputed in slices (by a hash of
/// the customer or the serial), and a partition whose many staged objects were compacted, replaced and deleted.
/// </summary>
public sealed class EngineScaleTests
{
    [Theory]
    [InlineData(ConsentProfile.Strict)]
    [InlineData(ConsentProfile.Rubric)]
    public async Task Recomputing_in_slices_gives_the_oracle_tables_row_for_row(ConsentProfile profile)
    {
        using var temp = new TempFolder();
        // A slice budget of 4,000 rows cuts each real hour (about 40,000 accelerometer readings) into a dozen slices; no cache,
        // so every slice reads its inputs back as a Lambda would.
        using var run = await LakeRun.RunAsync(Repo.Landing, temp.Sub("lake"), profile,
            options: new LakeOptions { SliceRows = 4_000 }, cacheBytes: 0);
        var oracle = BatchOracle.Compute(Repo.Landing, profile);
        foreach (var table in BatchOracle.TableNames)
            Rows.AssertSameRows(table, Rows.Sorted(oracle[table]), Rows.Sorted(run.Read(table)));
        Assert.True(run.Summary.Unbalanced == 0, "every landing object balances");
    }

    [Fact]
    public async Task A_compacted_partition_follows_replaced_and_deleted_objects()
    {
        using var temp = new TempFolder();
        var landing = temp.Sub("landing");
        // The real customers, and the first accelerometer file cut into 30 objects of 300 readings (a few hours' worth).
        Repo.CopyLanding(Repo.Landing, landing, f => f.StartsWith("customer/", StringComparison.Ordinal));
        var accel = Directory.GetFiles(Path.Combine(Repo.Landing, "accelerometer")).Order(StringComparer.Ordinal).First();
        var lines = File.ReadLines(accel).Take(9_000).ToArray();
        Directory.CreateDirectory(Path.Combine(landing, "accelerometer"));
        for (var i = 0; i < 30; i++) File.WriteAllLines(Path.Combine(landing, "accelerometer", $"part-{i:00}.json"), lines[(i * 300)..((i + 1) * 300)]);

        var lake = temp.Sub("lake");
        var options = new LakeOptions { CompactAfterObjects = 4 };
        using (var first = await LakeRun.RunAsync(landing, lake, ConsentProfile.Strict, options: options, cacheBytes: 0))
            Assert.Contains(await first.Pipeline.Lake.Store.ListAsync("staged/accelerometer/"), o => o.Key.Contains("/compact-", StringComparison.Ordinal));

        // Replace one object (its readings change) and delete another, then recompute: the compacted rows of both must go.
        using var run = await LakeRun.RunAsync(temp.Sub("nothing"), lake, ConsentProfile.Strict, options: options, cacheBytes: 0);
        var p = run.Pipeline;
        await p.Lake.Store.PutAsync("accelerometer/landing/part-00.json", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines[300..450]))), "application/json");
        await p.IngestFunction.HandleEventAsync(await p.EventForAsync("accelerometer/landing/part-00.json"));
        await p.Lake.Store.DeleteAsync("accelerometer/landing/part-07.json");
        await p.IngestFunction.HandleEventAsync(await p.EventForAsync("accelerometer/landing/part-07.json", eventName: "ObjectRemoved:Delete"));
        await p.Queue.DrainAsync();

        var now = temp.Sub("now");
        Repo.CopyLanding(landing, now, f => f != "accelerometer/part-00.json" && f != "accelerometer/part-07.json");
        File.WriteAllLines(Path.Combine(now, "accelerometer", "part-00.json"), lines[300..450]);
        var oracle = BatchOracle.Compute(BatchOracle.Read(now), ConsentProfile.Strict);
        foreach (var table in BatchOracle.TableNames)
            Rows.AssertSameRows(table, Rows.Sorted(oracle[table]), Rows.Sorted(run.Read(table)));
        var summary = await p.SummarizeAsync(TimeSpan.Zero);
        Assert.Equal(0, summary.Unbalanced);
    }
}
