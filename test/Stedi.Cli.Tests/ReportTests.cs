using System.Text.Json;
using Stedi.Cli.Report;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Refine;

namespace Stedi.Cli.Tests;

/// <summary><c>stedi report</c>: the reconciliation per landing object in table, csv and json, exit 1 when unbalanced, and the HTML page's model.</summary>
[Collection(SmallLakeCollection.Name)]
public sealed class ReportTests(SmallLake small)
{
    private const string Json =
        "[\n" +
        "  {\"landing_key\":\"accelerometer/landing/accelerometer-1691348232031.json\",\"source\":\"accelerometer\",\"status\":\"complete\",\"rows_read\":1273,\"accepted\":517,\"filtered\":{\"no_research_consent\":756},\"quarantined\":0,\"quarantined_by_reason\":{},\"unaccounted\":0,\"balanced\":true,\"duplicate_of\":null,\"skipped_reason\":null},\n" +
        "  {\"landing_key\":\"accelerometer/landing/damaged.json\",\"source\":\"accelerometer\",\"status\":\"partial\",\"rows_read\":5,\"accepted\":2,\"filtered\":{},\"quarantined\":3,\"quarantined_by_reason\":{\"missing_required_field\":1,\"not_a_number\":1,\"truncated_json\":1},\"unaccounted\":0,\"balanced\":true,\"duplicate_of\":null,\"skipped_reason\":null},\n" +
        "  {\"landing_key\":\"customer/landing/customer-1691348231425.json\",\"source\":\"customer\",\"status\":\"complete\",\"rows_read\":956,\"accepted\":482,\"filtered\":{\"no_research_consent\":474},\"quarantined\":0,\"quarantined_by_reason\":{},\"unaccounted\":0,\"balanced\":true,\"duplicate_of\":null,\"skipped_reason\":null},\n" +
        "  {\"landing_key\":\"step_trainer/landing/step_trainer-1691348232132.json\",\"source\":\"step_trainer\",\"status\":\"complete\",\"rows_read\":8680,\"accepted\":351,\"filtered\":{\"serial_not_curated\":8329},\"quarantined\":0,\"quarantined_by_reason\":{},\"unaccounted\":0,\"balanced\":true,\"duplicate_of\":null,\"skipped_reason\":null}\n" +
        "]\n";

    [Fact]
    public void Json_has_one_object_per_landing_object_and_every_one_balances()
    {
        var r = Stedi.Run("report", "--lake", small.Lake, "--format", "json");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(Json, r.Stdout);
        Assert.Equal("all 4 landing objects balance: 10,914 rows read = 1,352 accepted + 9,559 filtered + 3 quarantined\n", r.Stderr);
    }

    [Fact]
    public void Csv_has_the_same_columns_with_maps_as_json_text()
    {
        var r = Stedi.Run("report", "--lake", small.Lake, "--format", "csv");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(
            "landing_key,source,status,rows_read,accepted,filtered,quarantined,quarantined_by_reason,unaccounted,balanced,duplicate_of,skipped_reason\n" +
            "accelerometer/landing/accelerometer-1691348232031.json,accelerometer,complete,1273,517,\"{\"\"no_research_consent\"\":756}\",0,{},0,true,,\n" +
            "accelerometer/landing/damaged.json,accelerometer,partial,5,2,{},3,\"{\"\"missing_required_field\"\":1,\"\"not_a_number\"\":1,\"\"truncated_json\"\":1}\",0,true,,\n" +
            "customer/landing/customer-1691348231425.json,customer,complete,956,482,\"{\"\"no_research_consent\"\":474}\",0,{},0,true,,\n" +
            "step_trainer/landing/step_trainer-1691348232132.json,step_trainer,complete,8680,351,\"{\"\"serial_not_curated\"\":8329}\",0,{},0,true,,\n",
            r.Stdout);
    }

    [Fact]
    public void The_table_has_a_total_row_and_right_aligned_numbers()
    {
        var r = Stedi.Run("report", "--lake", small.Lake, "--format", "table");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.Equal("│ step_trainer/landing/step_trainer-1691348232132.json   │ step_trainer  │ complete │  8,680 │      351 │ serial_not_curated 8,329 │           0 │                                                            │           0 │ yes      │      │", lines[6]);
        Assert.Equal("│ total                                                  │               │          │ 10,914 │    1,352 │ 9,559                    │           3 │                                                            │           0 │ yes      │      │", lines[7]);
        Assert.Equal(10, lines.Length); // 3 border lines, header, 4 objects, total, final newline
    }

    [Fact]
    public void Redirected_output_is_markdown_by_default_as_querys_is()
    {
        // A piped report printed a box table about 260 characters wide.
        var r = Stedi.Run("report", "--lake", small.Lake);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.StartsWith("| landing object ", lines[0]);
        Assert.StartsWith("|---", lines[1]);
        Assert.Matches(@"\| +read +\| +accepted +\|", lines[0]);
        Assert.Matches(@"^\|-+\|-+\|-+\|-+:\|-+:\|", lines[1]); // read and accepted right-aligned
        Assert.StartsWith("| total ", lines[^2]);
        Assert.Equal(r.Stdout, Stedi.Run("report", "--lake", small.Lake, "--format", "markdown").Stdout);
    }

    [Fact]
    public async Task An_object_that_does_not_balance_is_exit_1_and_says_how_many_rows_are_unaccounted()
    {
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        // What an interrupted run leaves: the hour 15 partition of accelerometer_trusted refined before the staged rows of both accelerometer objects were there.
        using (var l = new LocalLake(lake))
            await l.Index.Refine.PutOutcomeAsync(new global::Stedi.Lakehouse.Index.PartitionOutcome("accelerometer_trusted", "2022-06-18-15", 0, "empty", null));

        var r = Stedi.Run("report", "--lake", lake, "--format", "csv");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(
            "landing_key,source,status,rows_read,accepted,filtered,quarantined,quarantined_by_reason,unaccounted,balanced,duplicate_of,skipped_reason\n" +
            "accelerometer/landing/accelerometer-1691348232031.json,accelerometer,complete,1273,193,\"{\"\"no_research_consent\"\":370}\",0,{},710,false,,\n" +
            "accelerometer/landing/damaged.json,accelerometer,partial,5,0,{},3,\"{\"\"missing_required_field\"\":1,\"\"not_a_number\"\":1,\"\"truncated_json\"\":1}\",2,false,,\n" +
            "customer/landing/customer-1691348231425.json,customer,complete,956,482,\"{\"\"no_research_consent\"\":474}\",0,{},0,true,,\n" +
            "step_trainer/landing/step_trainer-1691348232132.json,step_trainer,complete,8680,351,\"{\"\"serial_not_curated\"\":8329}\",0,{},0,true,,\n",
            r.Stdout);
        Assert.StartsWith("error: 2 of 4 landing objects do not balance (712 rows unaccounted): 2 with staged rows no refine outcome has counted (", r.Stderr);

        var html = Stedi.Run("report", "--lake", lake, "--html", Path.Combine(tmp.Path, "r.html"));
        Assert.Equal(1, html.ExitCode);
        using var model = JsonDocument.Parse(HtmlReport.ExtractJson(File.ReadAllText(Path.Combine(tmp.Path, "r.html"))));
        Assert.False(model.RootElement.GetProperty("balanced").GetBoolean());
        Assert.Equal(["accelerometer/landing/accelerometer-1691348232031.json", "accelerometer/landing/damaged.json"],
            model.RootElement.GetProperty("unbalanced").EnumerateArray().Select(o => o.GetProperty("landing_key").GetString()!).ToArray());
        var acc = model.RootElement.GetProperty("sources")[1];
        Assert.Equal("accelerometer", acc.GetProperty("source").GetString());
        Assert.Equal(712, acc.GetProperty("unaccounted").GetInt64());
    }

    [Fact]
    public void Objects_the_landing_prefix_holds_but_were_not_ingested_or_are_gone_but_not_retracted_do_not_balance_until_watch_delivers_them()
    {
        // The report once reconciled only the ledger: a file copied in without an event, and one deleted without one,
        // left "all landing objects balance" and exit 0.
        using var tmp = new TempFolder();
        var lake = small.CopyLake(tmp);
        var bucket = Path.Combine(lake, LocalLake.BucketName);
        File.Copy(Path.Combine(bucket, "customer", "landing", "customer-1691348231425.json"), Path.Combine(bucket, "customer", "landing", "new.json"));
        File.Delete(Path.Combine(bucket, "step_trainer", "landing", "step_trainer-1691348232132.json"));
        var damaged = Path.Combine(bucket, "accelerometer", "landing", "damaged.json");
        File.AppendAllText(damaged, "{\"user\":\"a@b.c\",\"timestamp\":1655564000000,\"x\":1,\"y\":1,\"z\":1}\n"); // replaced in place, no event

        var r = Stedi.Run("report", "--lake", lake, "--format", "csv");
        Assert.Equal(1, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.StartsWith("accelerometer/landing/damaged.json,accelerometer,changed_not_ingested,5,2,{},3,", lines[2]);
        Assert.EndsWith(",false,,\"replaced under the same key, new content not ingested (its event was lost or has not run); the counts are the old content's\"", lines[2]);
        Assert.Equal("customer/landing/new.json,customer,not_ingested,0,0,{},0,{},0,false,,not ingested: no ledger entry (its event was lost or has not run)", lines[4]);
        Assert.Equal("step_trainer/landing/step_trainer-1691348232132.json,step_trainer,deleted_not_retracted,8680,351,\"{\"\"serial_not_curated\"\":8329}\",0,{},0,false,," +
                     "\"deleted from the landing prefix, rows not retracted (its delete event was lost or has not run)\"", lines[5]);
        // The causes found, each once, not every cause there is.
        Assert.Equal("error: 3 of 5 landing objects do not balance (0 rows unaccounted): 1 under a landing prefix but never ingested (not_ingested); " +
                     "1 replaced, the new content not ingested (changed_not_ingested); 1 deleted, the rows not retracted (deleted_not_retracted). " +
                     "`stedi watch --once` delivers the missing events and finishes pending work (as does `stedi run --keep` for its landing folder)\n", r.Stderr);

        var w = Stedi.Run("watch", "--once", "--lake", lake);
        Assert.True(w.ExitCode == 0, w.ToString());
        var after = Stedi.Run("report", "--lake", lake, "--format", "csv");
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("all 4 landing objects balance: 3,191 rows read = 1,483 accepted + 1,705 filtered + 3 quarantined\n", after.Stderr); // rubric: both copies of the customer file are accepted
    }

    [Fact]
    public void The_html_page_embeds_the_numbers_it_draws()
    {
        using var tmp = new TempFolder();
        var file = Path.Combine(tmp.Path, "report.html");
        var r = Stedi.Run("report", "--lake", small.Lake, "--html", file);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stdout);
        Assert.StartsWith($"wrote {file}\n", r.Stderr);
        var html = File.ReadAllText(file);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" src=", html, StringComparison.Ordinal);

        using var model = JsonDocument.Parse(HtmlReport.ExtractJson(html));
        var root = model.RootElement;
        Assert.Equal("rubric", root.GetProperty("profile").GetString());
        Assert.Equal(1, root.GetProperty("schema_version").GetInt32());
        Assert.True(root.GetProperty("balanced").GetBoolean());
        Assert.Equal("""{"objects":4,"rows_read":10914,"accepted":1352,"filtered":9559,"quarantined":3,"unaccounted":0,"unbalanced_objects":0,"skipped":0}""",
            root.GetProperty("totals").GetRawText());
        Assert.Equal(
            """[{"source":"customer","first_table":"customer_trusted","objects":1,"rows_read":956,"accepted":482,"filtered":{"no_research_consent":474},"quarantined":0,"quarantined_by_reason":{},"unaccounted":0},""" +
            """{"source":"accelerometer","first_table":"accelerometer_trusted","objects":2,"rows_read":1278,"accepted":519,"filtered":{"no_research_consent":756},"quarantined":3,"quarantined_by_reason":{"missing_required_field":1,"not_a_number":1,"truncated_json":1},"unaccounted":0},""" +
            """{"source":"step_trainer","first_table":"step_trainer_trusted","objects":1,"rows_read":8680,"accepted":351,"filtered":{"serial_not_curated":8329},"quarantined":0,"quarantined_by_reason":{},"unaccounted":0}]""",
            root.GetProperty("sources").GetRawText());
        var tables = root.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("table").GetString()!, t => t);
        Assert.Equal(["customer_trusted", "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"], tables.Keys.ToArray());
        Assert.Equal([482L, 519L, 23L, 351L, 517L], tables.Values.Select(t => t.GetProperty("rows").GetInt64()).ToArray());
        Assert.Equal("""[{"partition":"2022-06-18-14","rows":193},{"partition":"2022-06-18-15","rows":326}]""", tables["accelerometer_trusted"].GetProperty("partitions").GetRawText());
        Assert.Equal("""[{"partition":"2022-06-18-14","rows":105},{"partition":"2022-06-18-15","rows":246}]""", tables["step_trainer_trusted"].GetProperty("partitions").GetRawText());
        Assert.Equal("""[{"partition":"2022-06-18-14","rows":193},{"partition":"2022-06-18-15","rows":324}]""", tables["machine_learning_curated"].GetProperty("partitions").GetRawText());
        Assert.True(tables["accelerometer_trusted"].GetProperty("hourly").GetBoolean());
        Assert.False(tables["customer_trusted"].GetProperty("hourly").GetBoolean());
    }

    [Fact]
    public void A_folder_without_a_lake_is_a_usage_error()
    {
        using var tmp = new TempFolder();
        var r = Stedi.Run("report", "--lake", tmp.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: no lake in {tmp.Path} (no lake-index.sqlite): run `stedi run` first (from the repository root, or with --landing DIR), or pass --lake DIR\n", r.Stderr);
    }

    [Fact]
    public void Html_into_a_missing_folder_is_a_usage_error()
    {
        var r = Stedi.Run("report", "--lake", small.Lake, "--html", "/nonexistent-folder/r.html");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--html: folder not found: /nonexistent-folder", r.Stderr);
    }
}
