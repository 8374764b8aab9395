using Parquet;
using Parquet.Schema;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Local.Tests;

public sealed class DuckDbQueryEngineTests : IDisposable
{
    private readonly TempFolder _root = new();
    private readonly LocalLake _lake;

    public DuckDbQueryEngineTests() => _lake = new LocalLake(_root.Path);

    public void Dispose()
    {
        _lake.Dispose();
        _root.Dispose();
    }

    private async Task<string> WriteAccelerometerPartitionAsync(string hour, string[] users, long[] timestamps)
    {
        var table = Tables.AccelerometerTrusted;
        var user = new DataField<string>("user", false);
        var timestamp = new DataField<long>("timestamp");
        var x = new DataField<double>("x");
        var y = new DataField<double>("y");
        var z = new DataField<double>("z");
        var extra = new DataField<string>("extra_fields", true);
        using var buffer = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(user, timestamp, x, y, z, extra), buffer))
        {
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync(user, users);
            await rg.WriteAsync<long>(timestamp, timestamps);
            await rg.WriteAsync<double>(x, users.Select((_, i) => (double)i).ToArray());
            await rg.WriteAsync<double>(y, users.Select(_ => 0.5).ToArray());
            await rg.WriteAsync<double>(z, users.Select(_ => -1.0).ToArray());
            await rg.WriteAsync(extra, users.Select(_ => (string?)null).ToArray());
        }
        buffer.Position = 0;
        var key = table.PartitionObjectKey(hour);
        await _lake.Store.PutAsync(key, buffer, "application/vnd.apache.parquet");
        await _lake.Catalog.EnsureTableAsync(table);
        await _lake.Catalog.AddPartitionAsync(table, hour);
        return _lake.Store.PathOf(key);
    }

    [Fact]
    public async Task Views_read_every_partition_file_with_the_partition_column_as_varchar()
    {
        await WriteAccelerometerPartitionAsync("2022-06-18-15", ["ann@x.com", "bob@x.com"], [1_655_564_376_361, 1_655_564_376_362]);
        await WriteAccelerometerPartitionAsync("07", ["ann@x.com"], [1_655_564_400_000]);

        var result = _lake.CreateQueryEngine().Query(
            "SELECT \"user\", \"timestamp\", x, reading_hour, typeof(reading_hour), typeof(\"timestamp\") FROM accelerometer_trusted ORDER BY \"timestamp\"");

        Assert.Equal(["user", "timestamp", "x", "reading_hour", "typeof(reading_hour)", "typeof(\"timestamp\")"], result.Columns);
        Assert.Equal(3, result.Rows.Count);
        Assert.Equal(new object?[] { "ann@x.com", 1_655_564_376_361L, 0.0, "2022-06-18-15", "VARCHAR", "BIGINT" }, result.Rows[0]);
        Assert.Equal(new object?[] { "bob@x.com", 1_655_564_376_362L, 1.0, "2022-06-18-15", "VARCHAR", "BIGINT" }, result.Rows[1]);
        Assert.Equal(new object?[] { "ann@x.com", 1_655_564_400_000L, 0.0, "07", "VARCHAR", "BIGINT" }, result.Rows[2]);
    }

    [Fact]
    public async Task A_table_without_files_is_an_empty_view_with_the_catalog_types()
    {
        await _lake.Catalog.EnsureTableAsync(Tables.StepTrainerTrusted);
        var engine = _lake.CreateQueryEngine();

        Assert.Empty(engine.Query("SELECT * FROM step_trainer_trusted").Rows);
        var types = engine.Query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'step_trainer_trusted' ORDER BY ordinal_position");
        Assert.Equal(
            [["sensorReadingTime", "BIGINT"], ["serialNumber", "VARCHAR"], ["distanceFromObject", "BIGINT"], ["extra_fields", "VARCHAR"], ["reading_hour", "VARCHAR"]],
            types.Rows);
        Assert.Equal([0L], engine.Query("SELECT count(*) FROM step_trainer_trusted").Rows[0]);
    }

    [Fact]
    public async Task Keyword_columns_of_an_empty_view_are_quoted()
    {
        await _lake.Catalog.EnsureTableAsync(Tables.AccelerometerTrusted);

        var result = _lake.CreateQueryEngine().Query("SELECT \"user\", \"timestamp\" FROM accelerometer_trusted");

        Assert.Equal(["user", "timestamp"], result.Columns);
        Assert.Empty(result.Rows);
    }

    [Fact]
    public async Task Describe_reports_physical_and_logical_types_and_codec()
    {
        var path = await WriteAccelerometerPartitionAsync("2022-06-18-15", ["ann@x.com"], [1]);

        var info = DuckDbQueryEngine.Describe(path);

        Assert.Equal(1, info.RowCount);
        Assert.Equal(1, info.RowGroups);
        Assert.Equal(["user", "timestamp", "x", "y", "z", "extra_fields"], info.Columns.Select(c => c.Name));
        Assert.Equal(["BYTE_ARRAY", "INT64", "DOUBLE", "DOUBLE", "DOUBLE", "BYTE_ARRAY"], info.Columns.Select(c => c.PhysicalType));
        Assert.Equal(["REQUIRED", "REQUIRED", "REQUIRED", "REQUIRED", "REQUIRED", "OPTIONAL"], info.Columns.Select(c => c.Repetition));
        Assert.DoesNotContain(info.Columns, c => c.PhysicalType == "INT96");
        Assert.Equal("UTF8", info.Columns[0].ConvertedType);
        Assert.All(info.Columns, c => Assert.False(string.IsNullOrEmpty(c.Compression)));
        Assert.All(info.Columns, c => Assert.False(string.IsNullOrEmpty(c.Encodings)));
    }

    [Fact]
    public void Describe_of_a_missing_file_throws_FileNotFoundException()
    {
        Assert.Throws<FileNotFoundException>(() => DuckDbQueryEngine.Describe(Path.Combine(_root.Path, "missing.parquet")));
    }

    [Fact]
    public void LocalLake_lays_out_store_index_and_catalog_under_the_root()
    {
        Assert.Equal(Path.Combine(_root.Path, "stedi-lake"), _lake.Store.BucketFolder);
        Assert.Equal("stedi-lake", _lake.Store.Bucket);
        Assert.True(File.Exists(Path.Combine(_root.Path, LocalLake.IndexFileName)));
        Assert.Equal(Path.Combine(_root.Path, "catalog"), _lake.Catalog.CatalogDirectory);
    }
}
