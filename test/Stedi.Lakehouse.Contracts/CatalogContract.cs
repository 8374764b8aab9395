using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Contracts;

/// <summary>What a catalog holds for one table, as read back by the adapter's test subclass.</summary>
/// <param name="Columns">Data columns in order as (name, Glue type).</param>
/// <param name="PartitionKey">The partition column.</param>
/// <param name="Partitions">Registered partition values (any order).</param>
public sealed record CatalogSnapshot(IReadOnlyList<(string Name, string Type)> Columns, string PartitionKey, IReadOnlyList<string> Partitions);

/// <summary>
/// The behaviour every <see cref="ICatalog"/> must have. Subclass it with a factory and a way to read a table back
/// (the JSON file locally, GetTable/GetPartitions on Glue). Each test uses a fresh table name.
/// </summary>
public abstract class CatalogContract
{
    /// <summary>The catalog under test (may be shared by tests; each test uses a fresh table).</summary>
    protected abstract Task<ICatalog> CreateCatalogAsync();

    /// <summary>What the catalog holds for a table, or null when it does not exist.</summary>
    protected abstract Task<CatalogSnapshot?> ReadBackAsync(ICatalog catalog, TableSchema table);

    /// <summary>A table shaped like accelerometer_trusted with a name no other test uses.</summary>
    protected static TableSchema FreshTable(Zone zone = Zone.Trusted) =>
        Tables.AccelerometerTrusted with { Name = $"contract_{Guid.NewGuid():N}"[..25], Zone = zone };

    private static List<(string, string)> Expected(TableSchema table) => [.. table.Columns.Select(c => (c.Name, c.GlueType))];

    [Fact]
    public async Task EnsureTable_creates_the_table_with_its_columns_and_partition_key()
    {
        var catalog = await CreateCatalogAsync();
        var table = FreshTable();
        Assert.Null(await ReadBackAsync(catalog, table));

        await catalog.EnsureTableAsync(table);

        var snapshot = await ReadBackAsync(catalog, table);
        Assert.NotNull(snapshot);
        Assert.Equal(Expected(table), snapshot.Columns);
        Assert.Equal([("user", "string"), ("timestamp", "bigint"), ("x", "double"), ("y", "double"), ("z", "double"), ("extra_fields", "string")],
            snapshot.Columns);
        Assert.Equal(Tables.ReadingHour, snapshot.PartitionKey);
        Assert.Empty(snapshot.Partitions);
    }

    [Fact]
    public async Task EnsureTable_twice_is_idempotent_and_keeps_partitions()
    {
        var catalog = await CreateCatalogAsync();
        var table = FreshTable();
        await catalog.EnsureTableAsync(table);
        await catalog.AddPartitionAsync(table, "2022-06-18-15");

        await catalog.EnsureTableAsync(table);

        var snapshot = await ReadBackAsync(catalog, table);
        Assert.Equal(Expected(table), snapshot!.Columns);
        Assert.Equal(["2022-06-18-15"], snapshot.Partitions);
    }

    [Fact]
    public async Task AddPartition_twice_is_success_and_registers_it_once()
    {
        var catalog = await CreateCatalogAsync();
        var table = FreshTable();
        await catalog.EnsureTableAsync(table);

        await catalog.AddPartitionAsync(table, "2022-06-18-16");
        await catalog.AddPartitionAsync(table, "2022-06-18-15");
        await catalog.AddPartitionAsync(table, "2022-06-18-16");

        var snapshot = await ReadBackAsync(catalog, table);
        Assert.Equal(["2022-06-18-15", "2022-06-18-16"], snapshot!.Partitions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Concurrent_AddPartition_calls_all_succeed()
    {
        var catalog = await CreateCatalogAsync();
        var table = FreshTable();
        await catalog.EnsureTableAsync(table);
        var values = Enumerable.Range(0, 12).Select(i => $"{i % 6:D2}").ToList();

        await Task.WhenAll(values.Select(v => Task.Run(() => catalog.AddPartitionAsync(table, v))));

        var snapshot = await ReadBackAsync(catalog, table);
        Assert.Equal(values.Distinct().Order(StringComparer.Ordinal), snapshot!.Partitions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Changed_columns_update_the_table_and_keep_partitions()
    {
        var catalog = await CreateCatalogAsync();
        var table = FreshTable();
        await catalog.EnsureTableAsync(table);
        await catalog.AddPartitionAsync(table, "07");
        var widened = table with { Columns = [.. table.Columns, new Column("user_agent", ColumnType.String, true, "new field")] };

        await catalog.EnsureTableAsync(widened);

        var snapshot = await ReadBackAsync(catalog, widened);
        Assert.Equal(Expected(widened), snapshot!.Columns);
        Assert.Equal("user_agent", snapshot.Columns[^1].Name);
        Assert.Equal(["07"], snapshot.Partitions);
    }
}
