using System.Text.Json;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>The full real STEDI data through the pipeline, once per profile: golden counts, oracle equality, footers, summary.</summary>
public abstract class RealDataTests(RealDataRunFixture run)
{
    protected abstract ConsentProfile Profile { get; }
    protected abstract IReadOnlyDictionary<string, long> Golden { get; }

    [Fact]
    public void Golden_counts_are_the_design_acceptance_figures()
    {
        foreach (var (table, expected) in Golden)
        {
            Assert.Equal(expected, run.Run.Summary.Tables[table]);
            var counted = run.Run.Pipeline.Lake.CreateQueryEngine().Query($"SELECT count(*) FROM {table}").Rows.Single()[0];
            Assert.Equal(expected, Convert.ToInt64(counted, System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal(BatchOracle.TableNames.Order(), run.Run.Summary.Tables.Keys.Order());
    }

    [Fact]
    public void Oracle_alone_reproduces_the_golden_counts()
    {
        foreach (var (table, expected) in Golden) Assert.Equal(expected, run.Oracle[table].Count);
    }

    [Theory]
    [InlineData("customer_trusted")]
    [InlineData("accelerometer_trusted")]
    [InlineData("customer_curated")]
    [InlineData("step_trainer_trusted")]
    [InlineData("machine_learning_curated")]
    public void Table_equals_the_oracle_row_for_row(string table) =>
        Rows.AssertSameRows(table, run.Oracle[table], run.Pipeline[table]);

    [Theory]
    [InlineData("customer_trusted")]
    [InlineData("accelerometer_trusted")]
    [InlineData("customer_curated")]
    [InlineData("step_trainer_trusted")]
    [InlineData("machine_learning_curated")]
    public void Parquet_footer_types_are_the_schema_definitions(string table)
    {
        var schema = Tables.ByName(table, Profile);
        var folder = Path.Combine(run.Run.LakeRoot, LocalLake.BucketName, schema.Prefix);
        var files = Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        // Every partition object, each the same way (an empty or first-written file must not differ).
        foreach (var file in files)
        {
            var info = DuckDbQueryEngine.Describe(file);
            Assert.Equal(schema.Columns.Select(c => c.Name), info.Columns.Select(c => c.Name));
            foreach (var (column, footer) in schema.Columns.Zip(info.Columns))
            {
                var physical = column.Type switch
                {
                    ColumnType.String => "BYTE_ARRAY",
                    ColumnType.Int64 => "INT64",
                    ColumnType.Int32 => "INT32",
                    ColumnType.Double => "DOUBLE",
                    _ => throw new InvalidOperationException(),
                };
                Assert.True(physical == footer.PhysicalType, $"{file} {column.Name}: expected {physical}, footer says {footer.PhysicalType}");
                Assert.Equal(column.Nullable ? "OPTIONAL" : "REQUIRED", footer.Repetition);
                Assert.NotEqual("INT96", footer.PhysicalType);
                var logical = (footer.LogicalType ?? "") + " " + (footer.ConvertedType ?? "");
                Assert.DoesNotContain("UINT", logical, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("isSigned=0", logical.Replace(" ", ""), StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("isSigned=false", logical.Replace(" ", ""), StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("TIMESTAMP", logical, StringComparison.OrdinalIgnoreCase);
                if (column.Type == ColumnType.String)
                    Assert.True(logical.Contains("String", StringComparison.OrdinalIgnoreCase) || logical.Contains("UTF8", StringComparison.OrdinalIgnoreCase),
                        $"{column.Name}: a string column should carry the STRING/UTF8 annotation, footer says '{logical.Trim()}'");
            }
        }
    }

    [Theory]
    [InlineData("accelerometer_trusted", "timestamp")]
    [InlineData("step_trainer_trusted", "sensorReadingTime")]
    [InlineData("machine_learning_curated", "sensorReadingTime")]
    public void Reading_partitions_are_the_utc_hour_of_the_reading_time(string table, string time)
    {
        var rows = run.Run.Pipeline.Lake.CreateQueryEngine().Query(
            $"SELECT count(*) FILTER (WHERE reading_hour <> strftime(epoch_ms(\"{time}\"), '%Y-%m-%d-%H')), count(DISTINCT reading_hour) FROM {table}").Rows.Single();
        Assert.Equal(0L, Convert.ToInt64(rows[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(Convert.ToInt64(rows[1], System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    [Fact]
    public void Epoch_milli_columns_are_int64_in_every_table()
    {
        string[] millis = ["sensorReadingTime", "timestamp", "registrationDate", "lastUpdateDate", "shareWithResearchAsOfDate", "shareWithPublicAsOfDate", "shareWithFriendsAsOfDate"];
        foreach (var schema in Tables.Published(Profile))
            foreach (var c in schema.Columns.Where(c => millis.Contains(c.Name)))
                Assert.Equal(ColumnType.Int64, c.Type);
    }

    [Fact]
    public void Summary_json_keys_row_counts_by_table_name()
    {
        using var doc = JsonDocument.Parse(run.Run.Summary.ToJson());
        var tables = doc.RootElement.GetProperty("tables");
        foreach (var (table, expected) in Golden) Assert.Equal(expected, tables.GetProperty(table).GetInt64());
        Assert.Equal(Profile.ToString().ToLowerInvariant(), doc.RootElement.GetProperty("profile").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("failed").GetInt64());
        Assert.Equal(0, doc.RootElement.GetProperty("quarantined").GetInt64());
    }
}

public sealed class StrictRealDataTests(StrictRealDataFixture run) : RealDataTests(run), IClassFixture<StrictRealDataFixture>
{
    protected override ConsentProfile Profile => ConsentProfile.Strict;

    protected override IReadOnlyDictionary<string, long> Golden => new Dictionary<string, long>
    {
        ["customer_trusted"] = 482, ["accelerometer_trusted"] = 32_025, ["customer_curated"] = 464,
        ["step_trainer_trusted"] = 11_297, ["machine_learning_curated"] = 32_025,
    };

    [Fact]
    public void Strict_machine_learning_curated_has_no_email_column()
    {
        var cols = run.Run.Pipeline.Lake.CreateQueryEngine().Query("SELECT * FROM machine_learning_curated LIMIT 1").Columns;
        Assert.DoesNotContain("user", cols);
        Assert.DoesNotContain("email", cols);
    }
}

public sealed class RubricRealDataTests(RubricRealDataFixture run) : RealDataTests(run), IClassFixture<RubricRealDataFixture>
{
    protected override ConsentProfile Profile => ConsentProfile.Rubric;

    protected override IReadOnlyDictionary<string, long> Golden => new Dictionary<string, long>
    {
        ["customer_trusted"] = 482, ["accelerometer_trusted"] = 40_981, ["customer_curated"] = 482,
        ["step_trainer_trusted"] = 14_460, ["machine_learning_curated"] = 43_681,
    };
}
