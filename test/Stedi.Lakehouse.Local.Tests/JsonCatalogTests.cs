using System.Text.Json;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Local.Tests;

public sealed class JsonCatalogTests : CatalogContract, IDisposable
{
    private readonly TempFolder _root = new();
    private readonly JsonCatalog _catalog;

    public JsonCatalogTests() => _catalog = new JsonCatalog(Path.Combine(_root.Path, "catalog"), Path.Combine(_root.Path, "stedi-lake"));

    protected override Task<ICatalog> CreateCatalogAsync() => Task.FromResult<ICatalog>(_catalog);

    protected override Task<CatalogSnapshot?> ReadBackAsync(ICatalog catalog, TableSchema table)
    {
        var loaded = ((JsonCatalog)catalog).Load(table.Name);
        return Task.FromResult(loaded is null
            ? null
            : new CatalogSnapshot([.. loaded.Columns.Select(c => (c.Name, c.Type))], loaded.PartitionKey, loaded.Partitions));
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Table_file_holds_name_zone_location_columns_and_sorted_partitions()
    {
        await _catalog.EnsureTableAsync(Tables.StepTrainerTrusted);
        await _catalog.AddPartitionAsync(Tables.StepTrainerTrusted, "2022-06-18-16");
        await _catalog.AddPartitionAsync(Tables.StepTrainerTrusted, "2022-06-18-15");

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_root.Path, "catalog", "step_trainer_trusted.json")));
        var r = json.RootElement;
        Assert.Equal("step_trainer_trusted", r.GetProperty("name").GetString());
        Assert.Equal("trusted", r.GetProperty("zone").GetString());
        Assert.Equal(Path.Combine(_root.Path, "stedi-lake", "trusted", "step_trainer_trusted"), r.GetProperty("location").GetString());
        Assert.Equal("reading_hour", r.GetProperty("partitionKey").GetString());
        Assert.Equal(["sensorReadingTime:bigint:False", "serialNumber:string:False", "distanceFromObject:bigint:False", "extra_fields:string:True"],
            r.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name")}:{c.GetProperty("type")}:{c.GetProperty("nullable")}"));
        Assert.Equal("epoch milliseconds", r.GetProperty("columns")[0].GetProperty("comment").GetString());
        Assert.Equal(["2022-06-18-15", "2022-06-18-16"], r.GetProperty("partitions").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task LoadAll_returns_every_table_by_name()
    {
        foreach (var table in Tables.Published(ConsentProfile.Strict)) await _catalog.EnsureTableAsync(table);

        var all = _catalog.LoadAll();

        Assert.Equal(["accelerometer_trusted", "customer_curated", "customer_trusted", "machine_learning_curated", "step_trainer_trusted"],
            all.Select(t => t.Name));
        Assert.Equal(Tables.CustomerCurated.Columns, all[1].Columns.Select(c => c.ToColumn()));
        Assert.DoesNotContain(all[3].Columns, c => c.Name == "user");
    }

    [Fact]
    public async Task AddPartition_of_an_unknown_table_creates_it()
    {
        await _catalog.AddPartitionAsync(Tables.CustomerTrusted, "03");

        var table = _catalog.Load("customer_trusted");
        Assert.Equal(["03"], table!.Partitions);
        Assert.Equal(11, table.Columns.Count);
    }
}
