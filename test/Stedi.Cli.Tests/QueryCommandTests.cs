namespace Stedi.Cli.Tests;

/// <summary><c>stedi query</c> as a process: where the SQL comes from, the default format off a terminal, the row cap, the quarantine view, errors.</summary>
[Collection(SmallLakeCollection.Name)]
public sealed class QueryCommandTests(SmallLake small)
{
    private const string Sample = "SELECT TIMESTAMP '2022-06-18 15:00:08' AS t, true AS b, [1,2] AS l";

    [Fact]
    public void Without_a_terminal_the_default_format_is_markdown()
    {
        var r = Stedi.Run("query", "--lake", small.Lake, Sample);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(
            "| t                    | b    | l     |\n" +
            "|----------------------|------|-------|\n" +
            "| 2022-06-18T15:00:08Z | true | [1,2] |\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Theory]
    [InlineData("csv", "t,b,l\n2022-06-18T15:00:08Z,true,\"[1,2]\"\n")]
    [InlineData("json", "[\n  {\"t\":\"2022-06-18T15:00:08Z\",\"b\":true,\"l\":[1,2]}\n]\n")]
    [InlineData("jsonl", "{\"t\":\"2022-06-18T15:00:08Z\",\"b\":true,\"l\":[1,2]}\n")]
    public void Formats_through_the_command(string format, string expected)
    {
        var r = Stedi.Run("query", "--lake", small.Lake, "--format", format, Sample);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(expected, r.Stdout);
    }

    [Fact]
    public void Sql_from_standard_input_when_no_argument_and_from_dash()
    {
        var piped = Stedi.RunWithInput("SELECT 41 + 1 AS answer;\n", "query", "--lake", small.Lake, "--format", "csv");
        Assert.True(piped.ExitCode == 0, piped.ToString());
        Assert.Equal("answer\n42\n", piped.Stdout);
        var dash = Stedi.RunWithInput("SELECT 'dash' AS source", "query", "--lake", small.Lake, "--format", "csv", "-");
        Assert.True(dash.ExitCode == 0, dash.ToString());
        Assert.Equal("source\ndash\n", dash.Stdout);
    }

    [Fact]
    public void Sql_from_a_file_runs_every_statement_and_shows_the_last_result()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("checks.sql"), """
            -- a script: a temporary table, then a query over it and a lake table
            CREATE TEMP TABLE expected AS SELECT 482 AS n;
            SELECT 'not shown' AS x;
            SELECT (SELECT count(*) FROM customer_trusted) = (SELECT n FROM expected) AS customer_trusted_ok;
            """);
        var r = Stedi.Run("query", "--lake", small.Lake, "--format", "csv", "-f", tmp.File("checks.sql"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("customer_trusted_ok\ntrue\n", r.Stdout);
    }

    [Fact]
    public void Markdown_is_capped_at_40_rows_and_says_how_many_more()
    {
        var r = Stedi.Run("query", "--lake", small.Lake, "SELECT sensorReadingTime FROM step_trainer_trusted ORDER BY sensorReadingTime, serialNumber");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.Equal(2 + 40 + 1 + 1 + 1, lines.Length); // header, rule, 40 rows, blank, footer, final newline
        Assert.Equal("311 more rows (351 in all; --max-rows 0 shows every row)", lines[^2]);
        var all = Stedi.Run("query", "--lake", small.Lake, "--max-rows", "0", "SELECT sensorReadingTime FROM step_trainer_trusted");
        Assert.Equal(2 + 351 + 1, all.Stdout.Split('\n').Length);
    }

    [Fact]
    public void Csv_is_not_capped_unless_asked_and_then_the_count_goes_to_stderr()
    {
        var all = Stedi.Run("query", "--lake", small.Lake, "--format", "csv", "SELECT * FROM accelerometer_trusted");
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal(1 + 519 + 1, all.Stdout.Split('\n').Length);
        Assert.Equal("", all.Stderr);
        var capped = Stedi.Run("query", "--lake", small.Lake, "--format", "csv", "--max-rows", "2", "SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1 LIMIT 5");
        Assert.Equal(3, capped.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal("3 more rows (5 in all; --max-rows 0 shows every row)\n", capped.Stderr);
    }

    [Fact]
    public void The_quarantine_view_holds_the_quarantined_records()
    {
        var r = Stedi.Run("query", "--lake", small.Lake, "--format", "csv",
            "SELECT source_key, line_number, byte_offset, reason, detail FROM quarantine ORDER BY line_number");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(
            "source_key,line_number,byte_offset,reason,detail\n" +
            "accelerometer/landing/damaged.json,2,82,truncated_json,the record starting at line 2 is cut short: line 3 cannot continue it\n" +
            "accelerometer/landing/damaged.json,3,154,missing_required_field,timestamp: missing\n" +
            "accelerometer/landing/damaged.json,4,210,not_a_number,timestamp: not a number\n", r.Stdout);
        var raw = Stedi.Run("query", "--lake", small.Lake, "--format", "jsonl", "SELECT raw FROM quarantine WHERE line_number = 4");
        Assert.Equal("{\"raw\":\"{\\\"user\\\":\\\"Jane.Olson@test.com\\\",\\\"timestamp\\\":\\\"soon\\\",\\\"x\\\":1.0,\\\"y\\\":0.0,\\\"z\\\":-1.0}\"}\n", raw.Stdout);
    }

    [Fact]
    public void Bad_sql_is_a_usage_error_with_duckdbs_message()
    {
        var r = Stedi.Run("query", "--lake", small.Lake, "SELEC 1");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.StartsWith("error: query failed: Parser Error: syntax error at or near \"SELEC\"", r.Stderr);
    }

    [Fact]
    public void A_missing_table_is_a_usage_error()
    {
        var r = Stedi.Run("query", "--lake", small.Lake, "SELECT * FROM customer_landing");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error: query failed: Catalog Error: Table with name customer_landing does not exist!", r.Stderr);
        // DuckDB's own suggestion may name one of its system tables: the last line lists the lake's.
        Assert.EndsWith("\nthe tables you can query: accelerometer_trusted, customer_curated, customer_trusted, machine_learning_curated, step_trainer_trusted, quarantine\n", r.Stderr);
        // A name close to a system table: DuckDB's suggestion of it is left out (it is not a table of the lake).
        var near = Stedi.Run("query", "--lake", small.Lake, "SELECT * FROM nosuch");
        Assert.Equal(2, near.ExitCode);
        Assert.DoesNotContain("Did you mean \"pg_", near.Stderr);
        Assert.StartsWith("error: query failed: Catalog Error: Table with name nosuch does not exist!\n", near.Stderr);
    }

    [Fact]
    public void No_sql_at_all_says_where_sql_can_come_from()
    {
        var r = Stedi.RunWithInput("", "query", "--lake", small.Lake);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: the SQL is empty\n", r.Stderr);
    }

    [Fact]
    public void Sql_and_a_file_together_are_refused()
    {
        var r = Stedi.Run("query", "--lake", small.Lake, "-f", "x.sql", "SELECT 1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("pass the SQL as an argument or with -f FILE, not both", r.Stderr);
    }

    [Fact]
    public void A_folder_without_a_lake_is_a_usage_error()
    {
        using var tmp = new TempFolder();
        var r = Stedi.Run("query", "--lake", tmp.Path, "SELECT 1");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: no lake in {tmp.Path} (no catalog folder): run `stedi run` first, or pass --lake DIR (or --bucket NAME for a lake bucket)\n", r.Stderr);
    }
}
