using System.Globalization;
using System.Text;
using DuckDB.NET.Data;

namespace Stedi.Lakehouse.Local;

/// <summary>The result of a SQL query: column names and rows (DBNull mapped to null).</summary>
/// <param name="Columns">Column names in select order.</param>
/// <param name="Rows">Rows; each value is the .NET value DuckDB.NET returns (string, long, int, double, ...) or null.</param>
public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows);

/// <summary>
/// The result of a SQL script as a reader shows it: the columns of the last statement that returned rows, its first
/// rows, and how many rows it returned in all.
/// </summary>
/// <param name="Columns">Column names in select order (empty when no statement returned a result).</param>
/// <param name="ColumnTypes">The .NET type of each column's values (e.g. <see cref="long"/>, <see cref="DateTime"/>, <c>List&lt;int&gt;</c>).</param>
/// <param name="Rows">The first rows (at most the cap asked for); values as in <see cref="QueryResult"/>.</param>
/// <param name="TotalRows">Rows the statement returned in all.</param>
public sealed record QueryPage(IReadOnlyList<string> Columns, IReadOnlyList<Type> ColumnTypes, IReadOnlyList<object?[]> Rows, long TotalRows)
{
    /// <summary>Rows beyond <see cref="Rows"/>.</summary>
    public long MoreRows => TotalRows - Rows.Count;
}

/// <summary>The footer description of one column chunk type of a Parquet file.</summary>
/// <param name="Name">Column (leaf) name.</param>
/// <param name="PhysicalType">Parquet physical type, e.g. <c>INT64</c>, <c>BYTE_ARRAY</c>, <c>DOUBLE</c>, <c>INT96</c>.</param>
/// <param name="LogicalType">Parquet logical type as DuckDB prints it (e.g. <c>StringType()</c>), or null.</param>
/// <param name="ConvertedType">Legacy converted type (e.g. <c>UTF8</c>), or null.</param>
/// <param name="Repetition"><c>REQUIRED</c>, <c>OPTIONAL</c> or <c>REPEATED</c>.</param>
/// <param name="Compression">Codec of the first row group's chunk (e.g. <c>SNAPPY</c>), or null when the file has no row group.</param>
/// <param name="Encodings">Encodings of the first row group's chunk as DuckDB lists them (e.g. <c>PLAIN, RLE_DICTIONARY</c>), or null.</param>
public sealed record ParquetColumnInfo(
    string Name, string PhysicalType, string? LogicalType, string? ConvertedType, string Repetition,
    string? Compression, string? Encodings);

/// <summary>Footer facts of one Parquet file.</summary>
/// <param name="Path">The file.</param>
/// <param name="RowCount">Rows in the file (sum of row groups).</param>
/// <param name="RowGroups">Number of row groups.</param>
/// <param name="Columns">Leaf columns in schema order.</param>
public sealed record ParquetFileInfo(string Path, long RowCount, int RowGroups, IReadOnlyList<ParquetColumnInfo> Columns);

/// <summary>
/// Runs SQL over the lake with DuckDB: each query gets a fresh in-memory database with one view per catalog table
/// (<c>read_parquet('&lt;location&gt;/**/*.parquet', hive_partitioning = true, union_by_name = true)</c>, the partition
/// column typed VARCHAR). A table without files gets an empty view with the catalog's column types, so queries
/// over a not-yet-populated lake still bind. An engine over a catalog also has a <see cref="QuarantineView"/> view
/// over the lake's quarantined records.
/// </summary>
public sealed class DuckDbQueryEngine
{
    /// <summary>The name of the view over the quarantined records (<c>quarantine/&lt;source&gt;/&lt;objectId&gt;.jsonl</c>).</summary>
    public const string QuarantineView = "quarantine";

    private readonly Func<IReadOnlyList<CatalogTable>> _tables;
    private readonly string? _bucketFolder;

    /// <summary>Creates an engine over the tables of a catalog (re-read on every query) and the quarantine of its data root.</summary>
    public DuckDbQueryEngine(JsonCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _tables = catalog.LoadAll;
        _bucketFolder = catalog.DataRoot;
    }

    /// <summary>Creates an engine over a fixed list of tables.</summary>
    public DuckDbQueryEngine(IReadOnlyList<CatalogTable> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        _tables = () => tables;
    }

    /// <summary>Runs one SQL statement against the views and returns every row.</summary>
    /// <exception cref="DuckDBException">The SQL fails to parse, bind or run.</exception>
    public QueryResult Query(string sql)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        using var connection = OpenWithViews();
        return Read(connection, sql);
    }

    /// <summary>
    /// Runs every statement of a SQL script against the views, streaming, and returns the last result: its first
    /// <paramref name="maxRows"/> rows and its row count (the other rows are counted, not kept). Statements that return
    /// no rows (<c>CREATE</c>, <c>INSERT</c>, <c>SET</c>) run but are not results.
    /// </summary>
    /// <param name="sql">One or more statements separated by <c>;</c>.</param>
    /// <param name="maxRows">Rows to keep, or null for every row.</param>
    /// <exception cref="DuckDBException">A statement fails to parse, bind or run (statements before it have run).</exception>
    public QueryPage QueryScript(string sql, int? maxRows = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        if (maxRows < 0) throw new ArgumentOutOfRangeException(nameof(maxRows), "must be null or at least 0");
        using var connection = OpenWithViews();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.UseStreamingMode = true;
        using var reader = command.ExecuteReader();
        var page = new QueryPage([], [], [], 0);
        do
        {
            if (reader.FieldCount == 0) continue;
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            var types = Enumerable.Range(0, reader.FieldCount).Select(reader.GetFieldType).ToList();
            var rows = new List<object?[]>();
            long total = 0;
            while (reader.Read())
            {
                if (maxRows is null || total < maxRows)
                {
                    var row = new object?[reader.FieldCount];
                    for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                    rows.Add(row);
                }
                total++;
            }
            page = new QueryPage(columns, types, rows, total);
        }
        while (reader.NextResult());
        return page;
    }

    /// <summary>
    /// The <c>CREATE VIEW</c> statement of the <see cref="QuarantineView"/> view over
    /// <c>&lt;bucketFolder&gt;/quarantine/&lt;source&gt;/*.jsonl</c>: source_key, line_number, byte_offset, reason,
    /// detail, raw (empty, with those types, when nothing is quarantined).
    /// </summary>
    public static string QuarantineViewSql(string bucketFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bucketFolder);
        (string Name, string Type)[] columns =
            [("source_key", "VARCHAR"), ("line_number", "BIGINT"), ("byte_offset", "BIGINT"), ("reason", "VARCHAR"), ("detail", "VARCHAR"), ("raw", "VARCHAR")];
        var folder = Path.Combine(bucketFolder, "quarantine");
        var sql = new StringBuilder($"CREATE OR REPLACE VIEW {Ident(QuarantineView)} AS ");
        if (Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.jsonl", SearchOption.AllDirectories).Any())
        {
            var glob = folder.Replace('\\', '/').TrimEnd('/') + "/*/*.jsonl";
            sql.Append(CultureInfo.InvariantCulture,
                $"SELECT {string.Join(", ", columns.Select(c => Ident(c.Name)))} FROM read_json({Literal(glob)}, format = 'newline_delimited', " +
                $"columns = {{{string.Join(", ", columns.Select(c => $"{Ident(c.Name)}: {Literal(c.Type)}"))}}})");
        }
        else
        {
            sql.Append("SELECT ").Append(string.Join(", ", columns.Select(c => $"CAST(NULL AS {c.Type}) AS {Ident(c.Name)}"))).Append(" WHERE false");
        }
        return sql.ToString();
    }

    private DuckDBConnection OpenWithViews()
    {
        var connection = OpenInMemory();
        try
        {
            foreach (var table in _tables()) Execute(connection, ViewSql(table));
            if (_bucketFolder is not null) Execute(connection, QuarantineViewSql(_bucketFolder));
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The <c>CREATE VIEW</c> statement of a table (as <see cref="Query"/> runs it).</summary>
    public static string ViewSql(CatalogTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var sql = new StringBuilder($"CREATE OR REPLACE VIEW {Ident(table.Name)} AS ");
        var hasFiles = Directory.Exists(table.Location)
                       && Directory.EnumerateFiles(table.Location, "*.parquet", SearchOption.AllDirectories).Any();
        if (hasFiles)
        {
            var glob = table.Location.Replace('\\', '/').TrimEnd('/') + "/**/*.parquet";
            sql.Append(CultureInfo.InvariantCulture,
                $"SELECT * FROM read_parquet({Literal(glob)}, hive_partitioning = true, union_by_name = true, hive_types = {{{Literal(table.PartitionKey)}: VARCHAR}})");
        }
        else
        {
            sql.Append("SELECT ");
            foreach (var column in table.Columns)
                sql.Append(CultureInfo.InvariantCulture, $"CAST(NULL AS {column.ToColumn().DuckDbType}) AS {Ident(column.Name)}, ");
            sql.Append(CultureInfo.InvariantCulture, $"CAST(NULL AS VARCHAR) AS {Ident(table.PartitionKey)} WHERE false");
        }
        return sql.ToString();
    }

    /// <summary>Reads the footer of a Parquet file: physical and logical types, repetition, codec and encodings per column.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="DuckDBException">The file is not valid Parquet.</exception>
    public static ParquetFileInfo Describe(string parquetPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(parquetPath);
        if (!File.Exists(parquetPath)) throw new FileNotFoundException("parquet file not found", parquetPath);
        var path = Literal(Path.GetFullPath(parquetPath));
        using var connection = OpenInMemory();
        var schema = Read(connection,
            $"SELECT name, type, logical_type::VARCHAR, converted_type, repetition_type, num_children FROM parquet_schema({path})");
        var chunks = Read(connection,
            $"SELECT path_in_schema, compression, encodings::VARCHAR, row_group_id, row_group_num_rows FROM parquet_metadata({path}) ORDER BY row_group_id, column_id");
        var firstGroup = new Dictionary<string, (string? Compression, string? Encodings)>(StringComparer.Ordinal);
        var rowGroups = new Dictionary<long, long>();
        foreach (var row in chunks.Rows)
        {
            firstGroup.TryAdd((string)row[0]!, (row[1] as string, row[2] as string));
            rowGroups[Convert.ToInt64(row[3], CultureInfo.InvariantCulture)] = Convert.ToInt64(row[4], CultureInfo.InvariantCulture);
        }
        var columns = new List<ParquetColumnInfo>();
        // The first schema row is the root (a group); leaves are the rows without children.
        foreach (var row in schema.Rows.Skip(1))
        {
            if (row[5] is not null && Convert.ToInt64(row[5], CultureInfo.InvariantCulture) > 0) continue;
            var name = (string)row[0]!;
            firstGroup.TryGetValue(name, out var chunk);
            columns.Add(new ParquetColumnInfo(
                name, row[1] as string ?? "", NullIfEmpty(row[2] as string), NullIfEmpty(row[3] as string),
                row[4] as string ?? "", chunk.Compression, chunk.Encodings));
        }
        return new ParquetFileInfo(parquetPath, rowGroups.Values.Sum(), rowGroups.Count, columns);
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static DuckDBConnection OpenInMemory()
    {
        var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        return connection;
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static QueryResult Read(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return new QueryResult(columns, rows);
    }

    /// <summary>A double-quoted SQL identifier (<c>user</c> and <c>timestamp</c> are keywords).</summary>
    internal static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
