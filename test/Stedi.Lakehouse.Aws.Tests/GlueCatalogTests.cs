using Amazon.Runtime;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>The Glue catalog adapter on moto: table definitions, idempotence, updates and partitions.</summary>
public sealed class GlueCatalogTests(MotoLake moto) : IClassFixture<MotoLake>
{
    /// <summary>A catalog over a fresh database whose HTTP traffic is recorded (operation names in order).</summary>
    private (GlueCatalog Catalog, List<string> Operations) Recorded(string database)
    {
        var recorder = new RecordingHandler();
        var http = new HttpClient(recorder);
        var client = AwsJsonClient.ForGlue("us-east-1", AwsLake.EmulatorCredentials, moto.Endpoint, http);
        return (new GlueCatalog(client, database, "lake-bucket"), recorder.Operations);
    }

    private static string FreshDatabase() => $"db_{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Every_published_table_is_created_with_the_schema_columns_parquet_serde_and_location()
    {
        var (catalog, _) = Recorded(FreshDatabase());
        var tables = Tables.Published(ConsentProfile.Strict);

        foreach (var t in tables) await catalog.EnsureTableAsync(t);

        Assert.Equal(5, tables.Count);
        foreach (var t in tables)
        {
            var stored = await catalog.DescribeTableAsync(t.Name);
            Assert.NotNull(stored);
            Assert.Equal("EXTERNAL_TABLE", stored.TableType);
            Assert.Equal(t.Columns.Select(c => (c.Name, c.GlueType, c.Comment)), stored.Columns);
            Assert.Equal([(t.PartitionKey, "string", "")], stored.PartitionKeys);
            Assert.Equal($"s3://lake-bucket/{t.Prefix}", stored.Location);
            Assert.Equal("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", stored.InputFormat);
            Assert.Equal("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", stored.OutputFormat);
            Assert.Equal("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", stored.SerializationLibrary);
            Assert.Equal("parquet", stored.Parameters["classification"]);
        }
        Assert.Contains(await catalog.DescribeTableAsync("customer_trusted") is { } c ? c.Columns : [], col => col is ("email", "string", _));
    }

    [Fact]
    public async Task EnsureTable_of_an_unchanged_table_reads_and_writes_nothing_else()
    {
        var database = FreshDatabase();
        var (first, _) = Recorded(database);
        await first.EnsureTableAsync(Tables.AccelerometerTrusted);
        var (second, operations) = Recorded(database);

        await second.EnsureTableAsync(Tables.AccelerometerTrusted);
        await second.EnsureTableAsync(Tables.AccelerometerTrusted);

        Assert.Equal(["GetDatabase", "GetTable"], operations);
    }

    [Fact]
    public async Task Changed_column_types_and_comments_update_the_table()
    {
        var database = FreshDatabase();
        var (catalog, operations) = Recorded(database);
        var table = Tables.StepTrainerTrusted;
        await catalog.EnsureTableAsync(table);
        var changed = table with
        {
            Columns = [.. table.Columns.Select(c => c.Name == "distanceFromObject" ? c with { Type = ColumnType.Int64, Comment = "centimetres" } : c)],
        };

        await catalog.EnsureTableAsync(changed);

        Assert.Equal(["GetDatabase", "CreateDatabase", "GetTable", "CreateTable", "GetTable", "UpdateTable"], operations);
        var stored = await catalog.DescribeTableAsync(table.Name);
        Assert.Contains(("distanceFromObject", "bigint", "centimetres"), stored!.Columns);
    }

    [Fact]
    public async Task BatchCreatePartition_twice_is_success_and_each_partition_points_at_its_folder()
    {
        var (catalog, operations) = Recorded(FreshDatabase());
        var table = Tables.AccelerometerTrusted;
        await catalog.EnsureTableAsync(table);
        string[] hours = ["2022-06-18-15", "2022-06-18-16", "2022-06-18-17"];

        await catalog.AddPartitionsAsync(table, hours);
        await catalog.AddPartitionsAsync(table, hours.Reverse());
        await catalog.AddPartitionAsync(table, "2022-06-18-15");

        Assert.Equal(hours, await catalog.GetPartitionValuesAsync(table.Name));
        Assert.Equal(3, operations.Count(o => o == "BatchCreatePartition"));
        Assert.Equal("s3://lake-bucket/trusted/accelerometer_trusted/reading_hour=2022-06-18-16/",
            await catalog.GetPartitionLocationAsync(table.Name, "2022-06-18-16"));
    }

    [Fact]
    public async Task Partitions_of_a_missing_table_are_an_error_naming_the_entry()
    {
        var (catalog, _) = Recorded(FreshDatabase());
        await catalog.EnsureDatabaseAsync();

        var e = await Assert.ThrowsAsync<AwsJsonException>(() => catalog.AddPartitionAsync(Tables.AccelerometerTrusted, "2022-06-18-15"));
        Assert.Equal("EntityNotFoundException", e.ErrorCode);
    }

    private sealed class RecordingHandler() : DelegatingHandler(new HttpClientHandler())
    {
        public List<string> Operations { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Operations) Operations.Add(request.Headers.GetValues("X-Amz-Target").Single()["AWSGlue.".Length..]);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
