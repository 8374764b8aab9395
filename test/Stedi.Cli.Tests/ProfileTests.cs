using System.Text.Json;

namespace Stedi.Cli.Tests;

/// <summary>
/// A lake records the profile it was built with (lake.json); writers use it by default and refuse the other one
/// (issue 11: one invoke without --profile after a rubric run emptied two tables, exit 0).
/// </summary>
[Collection(SmallLakeCollection.Name)]
public sealed class ProfileTests(SmallLake small)
{
    private const string RubricCounts =
        "t,n\naccelerometer_trusted,519\ncustomer_curated,23\ncustomer_trusted,482\nmachine_learning_curated,517\nstep_trainer_trusted,351\n";

    private static string Recorded(string lake) => JsonDocument.Parse(File.ReadAllText(Path.Combine(lake, "lake.json"))).RootElement.GetProperty("profile").GetString()!;

    [Fact]
    public void A_run_records_its_profile_and_schema_version()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(small.Lake, "lake.json")));
        Assert.Equal("rubric", doc.RootElement.GetProperty("profile").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("schema_version").GetInt32());
        Assert.StartsWith("stedi 1.0.0", doc.RootElement.GetProperty("created_by").GetString());
        Assert.Equal(RubricCounts, TableCounts.Of(small.Lake));
    }

    [Fact]
    public void Invoke_with_the_other_profile_is_refused_and_the_tables_are_unchanged()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var r = Stedi.Run("invoke", "--lake", lake, "--event", "events/s3-put-customer.json", "--profile", "strict");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal(
            $"error: lake {lake} was built with profile rubric (see {Path.Combine(lake, "lake.json")}); --profile strict would mix the two profiles' rules in its " +
            "tables. Leave out --profile to use rubric, or pass --lake DIR for a lake built with strict (stedi run --profile strict --lake DIR makes one)\n", r.Stderr);
        Assert.Equal(RubricCounts, TableCounts.Of(lake));
        Assert.Equal("rubric", Recorded(lake));
    }

    [Fact]
    public void Invoke_with_STEDI_PROFILE_set_to_the_other_profile_is_refused()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var r = Stedi.RunIn(Repo.Root, null, ["invoke", "--lake", lake, "--event", "events/s3-put-customer.json"], new Dictionary<string, string?> { ["STEDI_PROFILE"] = "strict" });
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("STEDI_PROFILE=strict would mix the two profiles' rules in its tables. Unset STEDI_PROFILE to use rubric", r.Stderr);
        Assert.Equal(RubricCounts, TableCounts.Of(lake));
    }

    [Fact]
    public void Invoke_without_a_profile_uses_the_lakes_and_leaves_the_tables_as_they_are()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        // The sample event names the real customer file, which this lake ingested: the answer is already_processed.
        var r = Stedi.Run("invoke", "--lake", lake, "--event", "events/s3-put-customer.json");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("\"status\": \"already_processed\"", r.Stdout);
        // A refresh of accelerometer_trusted recomputes with the lake's rules (rubric): the same rows.
        var refine = Stedi.Run("invoke", "--lake", lake, "--event", "events/sqs-refresh-accelerometer-trusted.json");
        Assert.True(refine.ExitCode == 0, refine.ToString());
        Assert.Equal(RubricCounts, TableCounts.Of(lake));
    }

    [Fact]
    public void Watch_with_the_other_profile_is_refused_and_the_tables_are_unchanged()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var r = Stedi.Run("watch", "--lake", lake, "--once", "--profile", "strict");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.StartsWith($"error: lake {lake} was built with profile rubric", r.Stderr);
        Assert.Equal(RubricCounts, TableCounts.Of(lake));
    }

    [Fact]
    public void Run_keep_with_the_other_profile_is_refused_and_without_keep_starts_a_fresh_lake_with_it()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var keep = Stedi.Run("run", "--keep", "--lake", lake, "--landing", small.Landing, "--profile", "strict");
        Assert.Equal(2, keep.ExitCode);
        Assert.Contains("Leave out --profile to use rubric, or drop --keep to replace the lake with a fresh one built with that profile", keep.Stderr);
        Assert.Equal(RubricCounts, TableCounts.Of(lake));

        var keepRubric = Stedi.Run("run", "--keep", "--lake", lake, "--landing", small.Landing);
        Assert.True(keepRubric.ExitCode == 0, keepRubric.ToString());
        Assert.Contains("profile rubric", keepRubric.Stdout);
        Assert.Contains("events 4 (already processed 4, failed 0)", keepRubric.Stdout);
        Assert.Equal(RubricCounts, TableCounts.Of(lake));

        var fresh = Stedi.Run("run", "--lake", lake, "--landing", small.Landing, "--profile", "strict");
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        Assert.Equal("strict", Recorded(lake));
        Assert.Equal("t,n\naccelerometer_trusted,332\ncustomer_curated,20\ncustomer_trusted,482\nmachine_learning_curated,330\nstep_trainer_trusted,251\n", TableCounts.Of(lake));
    }

    [Fact]
    public void A_lake_made_before_lakes_recorded_their_profile_needs_one_named_once()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        File.Delete(Path.Combine(lake, "lake.json"));
        var r = Stedi.Run("watch", "--lake", lake, "--once");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: lake {lake} was made before lakes recorded their profile: pass --profile strict or --profile rubric (the one it was built with) once to record it, or rebuild it with `stedi run`\n", r.Stderr);
        var named = Stedi.Run("watch", "--lake", lake, "--once", "--profile", "rubric");
        Assert.True(named.ExitCode == 0, named.ToString());
        Assert.Equal("rubric", Recorded(lake));
        Assert.Equal(RubricCounts, TableCounts.Of(lake));
    }
}
