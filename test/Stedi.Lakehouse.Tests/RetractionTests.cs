using Stedi.Twin;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>
/// Guarantee 1 for objects that change or disappear: the tables are a function of the landing objects that exist
/// (their latest versions). A customer file replaced in place, or deleted, must take its customers' rows with it.
/// </summary>
public sealed class RetractionTests
{
    private const long Consent = 1655564400000;

    private static void Write(string path, params string[] lines)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
    }

    private static string Customer(string email, string serial, long lastUpdate = Consent) =>
        $"{{\"email\":\"{email}\",\"serialNumber\":\"{serial}\",\"lastUpdateDate\":{lastUpdate},\"shareWithResearchAsOfDate\":{Consent}}}";

    private static (string First, string Replacement) Landing(TempFolder temp)
    {
        var first = temp.Sub("first");
        Write(Path.Combine(first, "customer", "c.json"), Customer("a@x.com", "S-A"), Customer("b@x.com", "S-B"));
        Write(Path.Combine(first, "accelerometer", "a.json"),
            $"{{\"user\":\"a@x.com\",\"timestamp\":{Consent + 401},\"x\":1,\"y\":2,\"z\":3}}",
            $"{{\"user\":\"b@x.com\",\"timestamp\":{Consent + 402},\"x\":1,\"y\":2,\"z\":3}}");
        Write(Path.Combine(first, "step_trainer", "s.json"),
            $"{{\"sensorReadingTime\":{Consent + 401},\"serialNumber\":\"S-A\",\"distanceFromObject\":10}}",
            $"{{\"sensorReadingTime\":{Consent + 402},\"serialNumber\":\"S-B\",\"distanceFromObject\":20}}");
        var replacement = temp.Sub("replacement");
        Write(Path.Combine(replacement, "customer", "c.json"), Customer("b@x.com", "S-B")); // same key, a@x.com removed
        return (first, replacement);
    }

    [Theory]
    [InlineData(ConsentProfile.Strict)]
    [InlineData(ConsentProfile.Rubric)]
    public async Task A_customer_file_replaced_in_place_without_a_customer_removes_that_customer_from_every_table(ConsentProfile profile)
    {
        using var temp = new TempFolder();
        var (first, replacement) = Landing(temp);
        var lake = temp.Sub("lake");
        using (var run = await LakeRun.RunAsync(first, lake, profile))
            Assert.Equal(2, run.Summary.Tables["machine_learning_curated"]);

        using var after = await LakeRun.RunAsync(replacement, lake, profile);

        // The oracle over the objects that exist now: the replaced customer file and the untouched reading files.
        var now = temp.Sub("now");
        Repo.CopyLanding(first, now, f => !f.Contains("customer", StringComparison.Ordinal));
        Repo.CopyLanding(replacement, now);
        var expected = BatchOracle.Compute(BatchOracle.Read(now), profile);
        foreach (var table in BatchOracle.TableNames)
            Rows.AssertSameRows(table, Rows.Sorted(expected[table]), Rows.Sorted(after.Read(table)));
        Assert.Equal(1, after.Summary.Tables["accelerometer_trusted"]);
        Assert.Equal(1, after.Summary.Tables["machine_learning_curated"]);
        Assert.DoesNotContain(after.Read("step_trainer_trusted"), r => (string)r[1]! == "S-A");
    }

    [Fact]
    public async Task Deleting_a_landing_object_delivers_ObjectRemoved_and_its_rows_leave_every_table()
    {
        using var temp = new TempFolder();
        var (first, _) = Landing(temp);
        using var run = await LakeRun.RunAsync(first, temp.Sub("lake"), ConsentProfile.Strict);
        var pipeline = run.Pipeline;
        const string key = "customer/landing/c.json";
        var removedEvent = await pipeline.EventForAsync(key, eventName: "ObjectRemoved:Delete");

        // While the object exists, a stray ObjectRemoved changes nothing.
        Assert.Equal("ignored", Assert.Single((await pipeline.IngestFunction.HandleEventAsync(removedEvent)).Outcomes).Status);
        await pipeline.Lake.Store.DeleteAsync(key);
        var outcome = Assert.Single((await pipeline.IngestFunction.HandleEventAsync(removedEvent)).Outcomes);
        await pipeline.Queue.DrainAsync();

        Assert.Equal("retracted", outcome.Status);
        foreach (var table in BatchOracle.TableNames) Assert.Empty(run.Read(table));
        Assert.Null(await pipeline.Lake.Index.Ledger.GetAsync(key));
        Assert.Empty(await pipeline.Lake.Store.ListAsync("staged/customer/"));
        var summary = await pipeline.SummarizeAsync(TimeSpan.Zero);
        Assert.Equal(2, summary.RowsRead["accelerometer"]);
        Assert.False(summary.RowsRead.ContainsKey("customer"));
    }
}
