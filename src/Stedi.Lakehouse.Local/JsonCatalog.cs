using System.Text.Json;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Local;

/// <summary>One column of a catalog table as stored in its JSON definition.</summary>
/// <param name="Name">Column name.</param>
/// <param name="Type">Glue/Athena type name (<c>string</c>, <c>bigint</c>, <c>int</c>, <c>double</c>), see <see cref="Column.GlueType"/>.</param>
/// <param name="Nullable">Whether the column allows null.</param>
/// <param name="Comment">Column comment.</param>
public sealed record CatalogColumn(string Name, string Type, bool Nullable, string Comment)
{
    /// <summary>The schema column this entry describes.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Type"/> is not one of the four Glue types.</exception>
    public Column ToColumn() => new(Name, Type switch
    {
        "string" => ColumnType.String,
        "bigint" => ColumnType.Int64,
        "int" => ColumnType.Int32,
        "double" => ColumnType.Double,
        _ => throw new InvalidOperationException($"column {Name} has unknown catalog type '{Type}'"),
    }, Nullable, Comment);
}

/// <summary>One table of the local catalog: the content of <c>&lt;catalogDir&gt;/&lt;name&gt;.json</c>.</summary>
/// <param name="Name">Table name.</param>
/// <param name="Zone">Zone in lower case (<c>staged</c>, <c>trusted</c>, <c>curated</c>).</param>
/// <param name="Location">Absolute folder of the table's data in the lake (Hive layout <c>&lt;partitionKey&gt;=&lt;value&gt;/</c> below it), without a trailing separator.</param>
/// <param name="PartitionKey">The single partition column (a string).</param>
/// <param name="Columns">Data columns in file order (the partition column is not among them).</param>
/// <param name="Partitions">Registered partition values, in ordinal order.</param>
public sealed record CatalogTable(
    string Name, string Zone, string Location, string PartitionKey,
    IReadOnlyList<CatalogColumn> Columns, IReadOnlyList<string> Partitions);

/// <summary>
/// An <see cref="ICatalog"/> that keeps one JSON definition per table in a folder, the local stand-in for the Glue
/// Data Catalog. Thread-safe within a process (one lock, each file replaced by an atomic rename).
/// </summary>
public sealed class JsonCatalog : ICatalog
{
    private static readonly LocalJsonContext Indented = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    });

    private readonly Lock _lock = new();

    /// <summary>Creates the catalog, creating <paramref name="catalogDirectory"/> when missing.</summary>
    /// <param name="catalogDirectory">Folder of the <c>&lt;table&gt;.json</c> files.</param>
    /// <param name="dataRoot">Folder that table prefixes are relative to (the lake bucket's folder, see <see cref="FolderObjectStore.BucketFolder"/>).</param>
    public JsonCatalog(string catalogDirectory, string dataRoot)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(catalogDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataRoot);
        CatalogDirectory = Path.GetFullPath(catalogDirectory);
        DataRoot = Path.GetFullPath(dataRoot);
        Directory.CreateDirectory(CatalogDirectory);
    }

    /// <summary>Absolute folder of the table definitions.</summary>
    public string CatalogDirectory { get; }

    /// <summary>Absolute folder the table locations are under.</summary>
    public string DataRoot { get; }

    /// <inheritdoc />
    public Task EnsureTableAsync(TableSchema table, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_lock)
        {
            var existing = Load(table.Name);
            var wanted = Describe(table, existing?.Partitions ?? []);
            if (existing is null || !SameDefinition(existing, wanted)) Save(wanted);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Creates the table first when it is not yet in the catalog.</remarks>
    public Task AddPartitionAsync(TableSchema table, string partitionValue, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentException.ThrowIfNullOrEmpty(partitionValue);
        lock (_lock)
        {
            var existing = Load(table.Name) ?? Describe(table, []);
            if (existing.Partitions.Contains(partitionValue, StringComparer.Ordinal)) return Task.CompletedTask;
            Save(existing with { Partitions = [.. existing.Partitions.Append(partitionValue).Order(StringComparer.Ordinal)] });
        }
        return Task.CompletedTask;
    }

    /// <summary>The definition of one table, or null when it is not in the catalog.</summary>
    /// <exception cref="JsonException">The table's file is not a valid definition.</exception>
    public CatalogTable? Load(string tableName)
    {
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        var path = PathOf(tableName);
        lock (_lock)
        {
            if (!File.Exists(path)) return null;
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, Indented.CatalogTable)
                   ?? throw new JsonException($"catalog file {path} holds null");
        }
    }

    /// <summary>Every table of the catalog, ordered by name.</summary>
    /// <exception cref="JsonException">A table's file is not a valid definition.</exception>
    public IReadOnlyList<CatalogTable> LoadAll()
    {
        lock (_lock)
        {
            return Directory.EnumerateFiles(CatalogDirectory, "*.json")
                .Select(f => Load(Path.GetFileNameWithoutExtension(f)))
                .OfType<CatalogTable>()
                .OrderBy(t => t.Name, StringComparer.Ordinal)
                .ToList();
        }
    }

    private CatalogTable Describe(TableSchema table, IReadOnlyList<string> partitions) => new(
        table.Name,
        table.Zone.ToString().ToLowerInvariant(),
        Path.Combine(DataRoot, table.Prefix.TrimEnd('/')),
        table.PartitionKey,
        [.. table.Columns.Select(c => new CatalogColumn(c.Name, c.GlueType, c.Nullable, c.Comment))],
        partitions);

    private static bool SameDefinition(CatalogTable a, CatalogTable b) =>
        a.Name == b.Name && a.Zone == b.Zone && a.Location == b.Location && a.PartitionKey == b.PartitionKey
        && a.Columns.SequenceEqual(b.Columns);

    private string PathOf(string tableName)
    {
        if (tableName.IndexOfAny(['/', '\\']) >= 0 || tableName is "." or "..")
            throw new ArgumentException($"table name '{tableName}' is not a file name", nameof(tableName));
        return Path.Combine(CatalogDirectory, tableName + ".json");
    }

    private void Save(CatalogTable table)
    {
        var path = PathOf(table.Name);
        var temp = path + $".{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(table, Indented.CatalogTable));
        File.Move(temp, path, overwrite: true);
    }
}
