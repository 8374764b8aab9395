using Stedi.Cli.Output;
using Stedi.Lakehouse.Local;

namespace Stedi.Cli.Tests;

/// <summary>Exact outputs of every query format for DuckDB values as DuckDB.NET returns them (issue 11: ISO timestamps, true/false, lists as JSON).</summary>
public sealed class QueryFormatGoldenTests
{
    private const string Sample = "SELECT TIMESTAMP '2022-06-18 15:00:08' AS t, true AS b, [1,2] AS l";

    private static QueryPage Run(string sql, int? maxRows = null) => new DuckDbQueryEngine(Array.Empty<CatalogTable>()).QueryScript(sql, maxRows);

    private static string Format(QueryPage page, OutputFormat format, int? width = null)
    {
        var w = new StringWriter();
        ResultFormatter.Write(w, page, format, width);
        return w.ToString();
    }

    [Fact]
    public void Csv_timestamp_boolean_list() =>
        Assert.Equal("t,b,l\n2022-06-18T15:00:08Z,true,\"[1,2]\"\n", Format(Run(Sample), OutputFormat.Csv));

    [Fact]
    public void Json_timestamp_boolean_list() =>
        Assert.Equal("[\n  {\"t\":\"2022-06-18T15:00:08Z\",\"b\":true,\"l\":[1,2]}\n]\n", Format(Run(Sample), OutputFormat.Json));

    [Fact]
    public void Jsonl_timestamp_boolean_list() =>
        Assert.Equal("{\"t\":\"2022-06-18T15:00:08Z\",\"b\":true,\"l\":[1,2]}\n", Format(Run(Sample), OutputFormat.Jsonl));

    [Fact]
    public void Markdown_timestamp_boolean_list() =>
        Assert.Equal(
            "| t                    | b    | l     |\n" +
            "|----------------------|------|-------|\n" +
            "| 2022-06-18T15:00:08Z | true | [1,2] |\n",
            Format(Run(Sample), OutputFormat.Markdown));

    [Fact]
    public void Table_timestamp_boolean_list() =>
        Assert.Equal(
            "┌──────────────────────┬──────┬───────┐\n" +
            "│          t           │  b   │   l   │\n" +
            "├──────────────────────┼──────┼───────┤\n" +
            "│ 2022-06-18T15:00:08Z │ true │ [1,2] │\n" +
            "└──────────────────────┴──────┴───────┘\n" +
            "1 row\n",
            Format(Run(Sample), OutputFormat.Table, width: 80));

    [Fact]
    public void Two_rows_json_is_an_array_of_objects_and_an_empty_result_is_empty_array()
    {
        Assert.Equal("[\n  {\"a\":1},\n  {\"a\":2}\n]\n", Format(Run("SELECT * FROM (VALUES (1), (2)) v(a) ORDER BY a"), OutputFormat.Json));
        Assert.Equal("[]\n", Format(Run("SELECT 1 AS a WHERE false"), OutputFormat.Json));
        Assert.Equal("", Format(Run("SELECT 1 AS a WHERE false"), OutputFormat.Jsonl));
        Assert.Equal("a\n", Format(Run("SELECT 1 AS a WHERE false"), OutputFormat.Csv));
    }

    [Fact]
    public void Structs_maps_nulls_dates_fractions_and_timestamptz()
    {
        var page = Run("SELECT {'k': 'v', 'n': 2} AS s, MAP {'a': 1} AS m, NULL::INTEGER AS n, DATE '2022-06-18' AS d, " +
                       "TIMESTAMP '2022-06-18 15:00:08.25' AS f, TIMESTAMPTZ '2022-06-18 17:00:08+02' AS tz, [['x', 'y'], []] AS nested, 1.50::DECIMAL(4,2) AS dec");
        Assert.Equal(
            "{\"s\":{\"k\":\"v\",\"n\":2},\"m\":{\"a\":1},\"n\":null,\"d\":\"2022-06-18\",\"f\":\"2022-06-18T15:00:08.25Z\",\"tz\":\"2022-06-18T15:00:08Z\",\"nested\":[[\"x\",\"y\"],[]],\"dec\":1.50}\n",
            Format(page, OutputFormat.Jsonl));
        Assert.Equal(
            "s,m,n,d,f,tz,nested,dec\n\"{\"\"k\"\":\"\"v\"\",\"\"n\"\":2}\",\"{\"\"a\"\":1}\",,2022-06-18,2022-06-18T15:00:08.25Z,2022-06-18T15:00:08Z,\"[[\"\"x\"\",\"\"y\"\"],[]]\",1.50\n",
            Format(page, OutputFormat.Csv));
    }

    [Fact]
    public void Csv_quotes_commas_quotes_and_line_breaks_and_json_keeps_them_as_strings()
    {
        var page = Run("SELECT 'a,b' AS x, 'say \"hi\"' AS y, E'two\\nlines' AS z, false AS f");
        Assert.Equal("x,y,z,f\n\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",false\n", Format(page, OutputFormat.Csv));
        Assert.Equal("{\"x\":\"a,b\",\"y\":\"say \\\"hi\\\"\",\"z\":\"two\\nlines\",\"f\":false}\n", Format(page, OutputFormat.Jsonl));
    }

    [Fact]
    public void Numbers_are_right_aligned_text_left_aligned_and_null_shown_as_NULL()
    {
        var page = Run("SELECT * FROM (VALUES (1, 'a', 2.5), (1000, 'bbb', NULL)) v(n, s, d) ORDER BY n");
        Assert.Equal(
            "|    n | s   |    d |\n" +
            "|-----:|-----|-----:|\n" +
            "|    1 | a   |  2.5 |\n" +
            "| 1000 | bbb | NULL |\n",
            Format(page, OutputFormat.Markdown));
    }

    [Fact]
    public void Markdown_escapes_pipes_and_shows_line_breaks_as_escapes() =>
        Assert.Equal(
            "| x       |\n" +
            "|---------|\n" +
            "| a\\|b\\nc |\n",
            Format(Run("SELECT E'a|b\\nc' AS x"), OutputFormat.Markdown));

    [Fact]
    public void A_capped_result_says_how_many_more_rows()
    {
        var page = Run("SELECT range AS n FROM range(100)", maxRows: 3);
        Assert.Equal(100, page.TotalRows);
        Assert.Equal(97, page.MoreRows);
        Assert.Equal(
            "|   n |\n" +
            "|----:|\n" +
            "|   0 |\n" +
            "|   1 |\n" +
            "|   2 |\n" +
            "\n" +
            "97 more rows (100 in all; --max-rows 0 shows every row)\n",
            Format(page, OutputFormat.Markdown));
        Assert.Equal(
            "┌───┐\n" +
            "│ n │\n" +
            "├───┤\n" +
            "│ 0 │\n" +
            "│ 1 │\n" +
            "│ 2 │\n" +
            "└───┘\n" +
            "3 rows shown, 97 more rows (100 in all; --max-rows 0 shows every row)\n",
            Format(page, OutputFormat.Table, 80));
        // CSV and JSON hold only the data; the caller writes this line to standard error.
        Assert.Equal("n\n0\n1\n2\n", Format(page, OutputFormat.Csv));
    }

    [Fact]
    public void A_table_wider_than_the_terminal_cuts_long_text_keeps_numbers_whole_and_leaves_out_middle_columns()
    {
        // Every line exactly as wide as the terminal; the number keeps its 13 digits, text and headers end in "…".
        var page = Run("SELECT 1655561935465 AS sensorReadingTime, '78089b5b-6444-4261-9e03-47ee0244e166' AS serialNumber, 'Danny.Lincoln@test.com' AS user");
        Assert.Equal(
            "┌────────────────┬────────────────┬────────────────┐\n" +
            "│ sensorReading… │  serialNumber  │      user      │\n" +
            "├────────────────┼────────────────┼────────────────┤\n" +
            "│  1655561935465 │ 78089b5b-6444… │ Danny.Lincoln… │\n" +
            "└────────────────┴────────────────┴────────────────┘\n" +
            "1 row\n",
            Format(page, OutputFormat.Table, 52));
        Assert.Equal(
            "┌───────────────┬───┬──────────────┐\n" +
            "│ sensorReadin… │ … │     user     │\n" +
            "├───────────────┼───┼──────────────┤\n" +
            "│ 1655561935465 │ … │ Danny.Linco… │\n" +
            "└───────────────┴───┴──────────────┘\n" +
            "1 row; 2 of 3 columns shown (serialNumber left out: widen the terminal, select fewer columns or use --format markdown)\n",
            Format(page, OutputFormat.Table, 36));
    }

    [Fact]
    public void A_script_runs_every_statement_and_returns_the_last_result()
    {
        var page = Run("CREATE TABLE t AS SELECT 1 AS a; INSERT INTO t VALUES (2); SELECT 'first' AS ignored; SELECT sum(a) AS total FROM t");
        Assert.Equal(["total"], page.Columns);
        Assert.Equal("total\n3\n", Format(page, OutputFormat.Csv));
    }

    [Theory]
    [InlineData("table", "Table")]
    [InlineData("CSV", "Csv")]
    [InlineData("jsonl", "Jsonl")]
    [InlineData("markdown", "Markdown")]
    public void Format_names_parse(string name, string expected)
    {
        Assert.True(ResultFormatter.TryParse(name, out var f));
        Assert.Equal(expected, f.ToString());
    }

    [Theory]
    [InlineData("1")]
    [InlineData("xml")]
    [InlineData("")]
    public void Unknown_format_names_do_not_parse(string name) => Assert.False(ResultFormatter.TryParse(name, out _));
}
