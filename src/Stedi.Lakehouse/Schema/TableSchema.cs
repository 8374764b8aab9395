namespace Stedi.Lakehouse.Schema;

/// <summary>Logical column type. Each maps to exactly one Parquet physical type and one Glue/Athena type.</summary>
public enum ColumnType
{
    /// <summary>UTF-8 text: Parquet BYTE_ARRAY (STRING), Glue <c>string</c>.</summary>
    String,
    /// <summary>Signed 64-bit integer (epoch milliseconds and counts): Parquet INT64, Glue <c>bigint</c>.</summary>
    Int64,
    /// <summary>Signed 32-bit integer: Parquet INT32, Glue <c>int</c>.</summary>
    Int32,
    /// <summary>IEEE 754 double: Parquet DOUBLE, Glue <c>double</c>.</summary>
    Double,
}

/// <summary>One column of a table.</summary>
/// <param name="Name">Column name as it appears in Parquet, Glue and SQL (the STEDI JSON field name).</param>
/// <param name="Type">Logical type.</param>
/// <param name="Nullable">True where the source allows null; false columns are written as REQUIRED in Parquet.</param>
/// <param name="Comment">Column comment for the Glue table.</param>
public sealed record Column(string Name, ColumnType Type, bool Nullable, string Comment = "")
{
    /// <summary>The Glue Data Catalog / Athena (Hive DDL) type name: <c>string</c>, <c>bigint</c>, <c>int</c> or <c>double</c>.</summary>
    public string GlueType => Type switch
    {
        ColumnType.String => "string",
        ColumnType.Int64 => "bigint",
        ColumnType.Int32 => "int",
        ColumnType.Double => "double",
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };

    /// <summary>The DuckDB SQL type name used for local views: VARCHAR, BIGINT, INTEGER or DOUBLE.</summary>
    public string DuckDbType => Type switch
    {
        ColumnType.String => "VARCHAR",
        ColumnType.Int64 => "BIGINT",
        ColumnType.Int32 => "INTEGER",
        ColumnType.Double => "DOUBLE",
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };
}

/// <summary>Which zone of the lake a table belongs to.</summary>
public enum Zone
{
    /// <summary>Every parsed landing record, consenting or not; readable only by the pipeline (docs/ARCHITECTURE.md §8).</summary>
    Staged,
    /// <summary>Records filtered by research consent.</summary>
    Trusted,
    /// <summary>Joined, analysis-ready tables.</summary>
    Curated,
}

/// <summary>
/// The single definition of a table: it drives the Parquet writer, the Glue table (CDK and runtime) and the local
/// DuckDB catalog. Nowhere else spells a column name.
/// </summary>
/// <param name="Name">Table name, e.g. <c>accelerometer_trusted</c>.</param>
/// <param name="Zone">Zone, which also gives the key prefix (<c>trusted/</c>, <c>curated/</c>, <c>staged/</c>).</param>
/// <param name="Columns">Data columns in file order.</param>
/// <param name="PartitionKey">The single Hive partition column (a string), e.g. <c>reading_hour</c>; not stored in the files.</param>
/// <param name="Description">Table comment for Glue.</param>
public sealed record TableSchema(string Name, Zone Zone, IReadOnlyList<Column> Columns, string PartitionKey, string Description)
{
    private readonly Dictionary<string, int> _ordinals = Columns.Select((c, i) => (c.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

    /// <summary>Two schemas are the same table when name, zone, partition key and columns (in order) are equal.</summary>
    public bool Equals(TableSchema? other) =>
        other is not null && Name == other.Name && Zone == other.Zone && PartitionKey == other.PartitionKey && Columns.SequenceEqual(other.Columns);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Zone, PartitionKey, Columns.Count);

    /// <summary>The position of a column (matched by name) in this table.</summary>
    /// <exception cref="ArgumentException">The table has no such column.</exception>
    public int Ordinal(Column column) =>
        TryOrdinal(column, out var i) ? i : throw new ArgumentException($"table {Name} has no column '{column.Name}'", nameof(column));

    /// <summary>The position of a column (matched by name), when the table has it.</summary>
    public bool TryOrdinal(Column column, out int ordinal) => _ordinals.TryGetValue(column.Name, out ordinal);

    /// <summary>Key prefix of the table's data, ending in '/': <c>trusted/customer_trusted/</c>.</summary>
    public string Prefix => $"{Zone.ToString().ToLowerInvariant()}/{Name}/";

    /// <summary>The folder of one partition, e.g. <c>trusted/accelerometer_trusted/reading_hour=2022-06-18-15/</c>.</summary>
    public string PartitionPrefix(string partitionValue) => $"{Prefix}{PartitionKey}={partitionValue}/";

    /// <summary>The deterministic object key of a refined partition: one object per partition, overwritten on every recompute.</summary>
    public string PartitionObjectKey(string partitionValue) => $"{PartitionPrefix(partitionValue)}part-00000.parquet";
}
