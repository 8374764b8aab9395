using System.Collections.Concurrent;
using System.Text.Json;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Aws;

/// <summary>A Glue table as the catalog describes it (for checks by tools and tests), or as <see cref="GlueCatalog.PutTableAsync"/> declares it.</summary>
/// <param name="Name">Table name.</param>
/// <param name="TableType">e.g. <c>EXTERNAL_TABLE</c>.</param>
/// <param name="Columns">Data columns as (name, Hive type, comment).</param>
/// <param name="PartitionKeys">Partition columns as (name, Hive type, comment).</param>
/// <param name="Location">S3 location, e.g. <c>s3://bucket/trusted/customer_trusted/</c>.</param>
/// <param name="InputFormat">Hadoop input format class.</param>
/// <param name="OutputFormat">Hadoop output format class.</param>
/// <param name="SerializationLibrary">SerDe class.</param>
/// <param name="Parameters">Table parameters (e.g. <c>classification = parquet</c>, partition projection).</param>
/// <param name="Description">Table description, or null.</param>
/// <param name="SerDeParameters">SerDe parameters, or null for none.</param>
public sealed record CatalogTable(
    string Name, string? TableType,
    IReadOnlyList<(string Name, string Type, string Comment)> Columns,
    IReadOnlyList<(string Name, string Type, string Comment)> PartitionKeys,
    string? Location, string? InputFormat, string? OutputFormat, string? SerializationLibrary,
    IReadOnlyDictionary<string, string> Parameters,
    string? Description = null, IReadOnlyDictionary<string, string>? SerDeParameters = null);

/// <summary>
/// <see cref="ICatalog"/> over the Glue Data Catalog: one Glue database, tables created from <see cref="TableSchema"/>
/// as external Parquet tables at <c>s3://&lt;bucket&gt;/&lt;table.Prefix&gt;</c>, partitions at
/// <c>s3://&lt;bucket&gt;/&lt;table.PartitionPrefix(value)&gt;</c>.
/// </summary>
/// <remarks>
/// <see cref="EnsureTableAsync"/> creates the database and table when missing (GetDatabase/CreateDatabase,
/// GetTable/CreateTable) and calls UpdateTable when the stored definition (columns, partition keys, location,
/// formats, SerDe) differs from the schema; a definition already ensured by this instance is not fetched again.
/// <see cref="AddPartitionAsync"/> uses BatchCreatePartition, where <c>AlreadyExistsException</c> is success.
/// Source: Glue API reference, "Table API" and "Partition API" (https://docs.aws.amazon.com/glue/latest/dg/).
/// </remarks>
public sealed class GlueCatalog : ICatalog
{
    /// <summary>Hive input format of Parquet tables.</summary>
    public const string ParquetInputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";

    /// <summary>Hive output format of Parquet tables.</summary>
    public const string ParquetOutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";

    /// <summary>Parquet SerDe.</summary>
    public const string ParquetSerDe = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

    private readonly AwsJsonClient _glue;
    private readonly ConcurrentDictionary<string, bool> _ensured = new(StringComparer.Ordinal);
    private volatile bool _databaseEnsured;

    /// <summary>Creates the catalog adapter.</summary>
    /// <param name="glue">Glue client (not disposed by this adapter).</param>
    /// <param name="database">Glue database name (created when missing).</param>
    /// <param name="bucket">Bucket holding the tables' data (for the S3 locations).</param>
    public GlueCatalog(AwsJsonClient glue, string database, string bucket)
    {
        ArgumentNullException.ThrowIfNull(glue);
        ArgumentException.ThrowIfNullOrEmpty(database);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        _glue = glue;
        Database = database;
        Bucket = bucket;
    }

    /// <summary>Glue database name.</summary>
    public string Database { get; }

    /// <summary>Bucket of the table locations.</summary>
    public string Bucket { get; }

    /// <summary>Creates the Glue database when it does not exist.</summary>
    /// <exception cref="AwsJsonException">Glue refused (other than AlreadyExists).</exception>
    public async Task EnsureDatabaseAsync(CancellationToken ct = default)
    {
        if (_databaseEnsured) return;
        try
        {
            await _glue.CallAsync("GetDatabase", new GetDatabaseRequest { Name = Database },
                GlueJsonContext.Default.GetDatabaseRequest, GlueJsonContext.Default.GlueEmpty, ct).ConfigureAwait(false);
        }
        catch (AwsJsonException e) when (e.ErrorCode == "EntityNotFoundException")
        {
            try
            {
                await _glue.CallAsync("CreateDatabase", new CreateDatabaseRequest { DatabaseInput = new GlueDatabaseInput { Name = Database } },
                    GlueJsonContext.Default.CreateDatabaseRequest, GlueJsonContext.Default.GlueEmpty, ct).ConfigureAwait(false);
            }
            catch (AwsJsonException e2) when (e2.ErrorCode == "AlreadyExistsException")
            {
            }
        }
        _databaseEnsured = true;
    }

    /// <summary>
    /// Declares a table exactly as given (CreateTable, or UpdateTable when it exists), creating the database when
    /// missing: how the emulated deployment declares the tables a stack declares. An empty comment is sent as none.
    /// </summary>
    /// <exception cref="AwsJsonException">Glue refused a call (after retries for throttling and 5xx).</exception>
    public async Task PutTableAsync(CatalogTable table, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        static List<GlueColumn> Cols(IReadOnlyList<(string Name, string Type, string Comment)> c) =>
            c.Select(x => new GlueColumn { Name = x.Name, Type = x.Type, Comment = string.IsNullOrEmpty(x.Comment) ? null : x.Comment }).ToList();
        var input = new GlueTableInput
        {
            Name = table.Name,
            Description = table.Description,
            TableType = table.TableType,
            Parameters = table.Parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            PartitionKeys = Cols(table.PartitionKeys),
            StorageDescriptor = new GlueStorageDescriptor
            {
                Columns = Cols(table.Columns),
                Location = table.Location,
                InputFormat = table.InputFormat,
                OutputFormat = table.OutputFormat,
                SerdeInfo = new GlueSerDeInfo
                {
                    SerializationLibrary = table.SerializationLibrary,
                    Parameters = table.SerDeParameters?.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
                },
            },
        };
        await EnsureDatabaseAsync(ct).ConfigureAwait(false);
        try
        {
            await _glue.CallAsync("CreateTable", new CreateTableRequest { DatabaseName = Database, TableInput = input },
                GlueJsonContext.Default.CreateTableRequest, GlueJsonContext.Default.GlueEmpty, ct).ConfigureAwait(false);
        }
        catch (AwsJsonException e) when (e.ErrorCode == "AlreadyExistsException")
        {
            await _glue.CallAsync("UpdateTable", new UpdateTableRequest { DatabaseName = Database, TableInput = input },
                GlueJsonContext.Default.UpdateTableRequest, GlueJsonContext.Default.GlueEmpty, ct).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <exception cref="AwsJsonException">Glue refused a call (after retries for throttling and 5xx).</exception>
    public async Task EnsureTableAsync(TableSchema table, CancellationToken ct = default)
    {
        var desired = TableInput(table);
        var signature = JsonSerializer.Serialize(desired, GlueJsonContext.Default.GlueTableInput);
        if (_ensured.ContainsKey(signature)) return;
        await EnsureDatabaseAsync(ct).ConfigureAwait(false);

        var current = await GetTableAsync(table.Name, ct).ConfigureAwait(false);
        if (current is null)
        {
            try
            {
                await _glue.CallAsync("CreateTable", new CreateTableRequest { DatabaseName = Database, TableInput = desired },
                    GlueJsonContext.Default.CreateTableRequest, GlueJsonContext.Default.GlueEmpty, ct).ConfigureAwait(false);
                _ensured[signature] = true;
                return;
            }
            catch (AwsJsonException e) when (e.ErrorCode == "AlreadyExistsException")
            {
                current = await GetTableAsync(table.Name, ct).ConfigureAwait(false);
            }
        }
        if (current is null || !Matches(current, desired))
        {
            await _glue.CallAsync("UpdateTable", new UpdateTableRequest { DatabaseName = Database, TableInput = desired },
                GlueJsonContext.Default.UpdateTableRequest, GlueJsonContext.Default.GlueEmpty, ct).ConfigureAwait(false);
        }
        _ensured[signature] = true;
    }

    /// <inheritdoc />
    /// <exception cref="AwsJsonException">Glue refused the call, or reported an entry error other than AlreadyExists.</exception>
    public Task AddPartitionAsync(TableSchema table, string partitionValue, CancellationToken ct = default) =>
        AddPartitionsAsync(table, [partitionValue], ct);

    /// <summary>Registers many partitions of a table (BatchCreatePartition, 100 a call). Existing partitions are success.</summary>
    /// <exception cref="AwsJsonException">Glue refused the call, or reported an entry error other than AlreadyExists.</exception>
    public async Task AddPartitionsAsync(TableSchema table, IEnumerable<string> partitionValues, CancellationToken ct = default)
    {
        foreach (var chunk in partitionValues.Distinct(StringComparer.Ordinal).Chunk(100))
        {
            var request = new BatchCreatePartitionRequest
            {
                DatabaseName = Database,
                TableName = table.Name,
                PartitionInputList = chunk.Select(v => new GluePartitionInput
                {
                    Values = [v],
                    StorageDescriptor = StorageDescriptor(table, $"s3://{Bucket}/{table.PartitionPrefix(v)}"),
                }).ToList(),
            };
            var r = await _glue.CallAsync("BatchCreatePartition", request,
                GlueJsonContext.Default.BatchCreatePartitionRequest, GlueJsonContext.Default.BatchCreatePartitionResponse, ct).ConfigureAwait(false);
            var failure = (r.Errors ?? []).FirstOrDefault(e => e.ErrorDetail?.ErrorCode != "AlreadyExistsException");
            if (failure is not null)
                throw new AwsJsonException("glue", "BatchCreatePartition", System.Net.HttpStatusCode.OK,
                    failure.ErrorDetail?.ErrorCode ?? "Unknown",
                    $"partition [{string.Join(",", failure.PartitionValues ?? [])}] of {table.Name}: {failure.ErrorDetail?.ErrorMessage}");
        }
    }

    /// <summary>The table as stored in Glue, or null when it does not exist.</summary>
    /// <exception cref="AwsJsonException">Glue refused the call (other than EntityNotFound).</exception>
    public async Task<CatalogTable?> DescribeTableAsync(string tableName, CancellationToken ct = default)
    {
        var t = await GetTableAsync(tableName, ct).ConfigureAwait(false);
        if (t is null) return null;
        static IReadOnlyList<(string, string, string)> Cols(List<GlueColumn>? c) =>
            (c ?? []).Select(x => (x.Name, x.Type ?? "", x.Comment ?? "")).ToList();
        var sd = t.StorageDescriptor;
        return new CatalogTable(t.Name, t.TableType, Cols(sd?.Columns), Cols(t.PartitionKeys), sd?.Location,
            sd?.InputFormat, sd?.OutputFormat, sd?.SerdeInfo?.SerializationLibrary, t.Parameters ?? [],
            t.Description, sd?.SerdeInfo?.Parameters ?? []);
    }

    /// <summary>Values of every registered partition of a table (GetPartitions, all pages), each as its value list
    /// joined by <c>/</c>, in ordinal order.</summary>
    /// <exception cref="AwsJsonException">Glue refused the call.</exception>
    public async Task<IReadOnlyList<string>> GetPartitionValuesAsync(string tableName, CancellationToken ct = default)
    {
        var result = new List<string>();
        var request = new GetPartitionsRequest { DatabaseName = Database, TableName = tableName };
        do
        {
            var r = await _glue.CallAsync("GetPartitions", request,
                GlueJsonContext.Default.GetPartitionsRequest, GlueJsonContext.Default.GetPartitionsResponse, ct).ConfigureAwait(false);
            result.AddRange((r.Partitions ?? []).Select(p => string.Join("/", p.Values ?? [])));
            request.NextToken = string.IsNullOrEmpty(r.NextToken) ? null : r.NextToken;
        } while (request.NextToken is not null);
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>The partition's S3 location as registered, or null when the partition is not registered.</summary>
    internal async Task<string?> GetPartitionLocationAsync(string tableName, string value, CancellationToken ct = default)
    {
        var request = new GetPartitionsRequest { DatabaseName = Database, TableName = tableName };
        do
        {
            var r = await _glue.CallAsync("GetPartitions", request,
                GlueJsonContext.Default.GetPartitionsRequest, GlueJsonContext.Default.GetPartitionsResponse, ct).ConfigureAwait(false);
            var p = (r.Partitions ?? []).FirstOrDefault(p => p.Values is [var v] && v == value);
            if (p is not null) return p.StorageDescriptor?.Location;
            request.NextToken = string.IsNullOrEmpty(r.NextToken) ? null : r.NextToken;
        } while (request.NextToken is not null);
        return null;
    }

    private async Task<GlueTable?> GetTableAsync(string name, CancellationToken ct)
    {
        try
        {
            var r = await _glue.CallAsync("GetTable", new GetTableRequest { DatabaseName = Database, Name = name },
                GlueJsonContext.Default.GetTableRequest, GlueJsonContext.Default.GetTableResponse, ct).ConfigureAwait(false);
            return r.Table;
        }
        catch (AwsJsonException e) when (e.ErrorCode == "EntityNotFoundException")
        {
            return null;
        }
    }

    internal GlueTableInput TableInput(TableSchema table) => new()
    {
        Name = table.Name,
        Description = string.IsNullOrEmpty(table.Description) ? null : table.Description,
        TableType = "EXTERNAL_TABLE",
        Parameters = new() { ["classification"] = "parquet", ["EXTERNAL"] = "TRUE" },
        PartitionKeys = [new GlueColumn { Name = table.PartitionKey, Type = "string" }],
        StorageDescriptor = StorageDescriptor(table, $"s3://{Bucket}/{table.Prefix}"),
    };

    private static GlueStorageDescriptor StorageDescriptor(TableSchema table, string location) => new()
    {
        Columns = table.Columns.Select(c => new GlueColumn
        {
            Name = c.Name, Type = c.GlueType, Comment = string.IsNullOrEmpty(c.Comment) ? null : c.Comment,
        }).ToList(),
        Location = location,
        InputFormat = ParquetInputFormat,
        OutputFormat = ParquetOutputFormat,
        SerdeInfo = new GlueSerDeInfo
        {
            SerializationLibrary = ParquetSerDe,
            Parameters = new() { ["serialization.format"] = "1" },
        },
    };

    private static bool Matches(GlueTable current, GlueTableInput desired)
    {
        static bool SameColumns(List<GlueColumn>? a, List<GlueColumn>? b) =>
            (a ?? []).Select(c => (c.Name, c.Type ?? "", c.Comment ?? ""))
                .SequenceEqual((b ?? []).Select(c => (c.Name, c.Type ?? "", c.Comment ?? "")));
        var cs = current.StorageDescriptor;
        var ds = desired.StorageDescriptor!;
        return current.TableType == desired.TableType
            && (current.Description ?? "") == (desired.Description ?? "")
            && SameColumns(current.PartitionKeys, desired.PartitionKeys)
            && SameColumns(cs?.Columns, ds.Columns)
            && cs?.Location == ds.Location
            && cs?.InputFormat == ds.InputFormat
            && cs?.OutputFormat == ds.OutputFormat
            && cs?.SerdeInfo?.SerializationLibrary == ds.SerdeInfo?.SerializationLibrary
            && desired.Parameters!.All(p => current.Parameters?.GetValueOrDefault(p.Key) == p.Value);
    }
}
