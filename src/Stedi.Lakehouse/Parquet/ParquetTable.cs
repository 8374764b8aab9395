using Parquet;
using Parquet.Schema;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Parquet;

/// <summary>
/// Reads and writes rows of a <see cref="TableSchema"/> as Parquet with Parquet.Net. A row is an
/// <c>object?[]</c> in column order holding <see cref="string"/>, <see cref="long"/>, <see cref="int"/>,
/// <see cref="double"/> or null. Epoch milliseconds stay INT64 (never INT96 or a timestamp type); only signed
/// physical types are used, so Athena reads the files as the Glue table declares them.
/// </summary>
public static class ParquetTable
{
    /// <summary>Rows per row group when writing (bounds writer memory).</summary>
    public const int RowGroupSize = 100_000;

    /// <summary>The Parquet.Net schema of a table: REQUIRED columns where the schema says not nullable.</summary>
    public static ParquetSchema ToParquetSchema(TableSchema table) =>
        new(table.Columns.Select(c => (Field)new DataField(c.Name, ClrType(c.Type), c.Nullable)).ToArray());

    private static Type ClrType(ColumnType t) => t switch
    {
        ColumnType.String => typeof(string),
        ColumnType.Int64 => typeof(long),
        ColumnType.Int32 => typeof(int),
        ColumnType.Double => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Writes rows to <paramref name="output"/> (writable and seekable), in row groups of at most <see cref="RowGroupSize"/> rows.</summary>
    /// <exception cref="InvalidCastException">A value does not match its column type.</exception>
    /// <exception cref="ArgumentNullException">A null in a non-nullable column.</exception>
    public static async Task WriteAsync(TableSchema table, IReadOnlyList<object?[]> rows, Stream output, CancellationToken ct = default)
    {
        await using var writer = await ParquetTableWriter.CreateAsync(table, output, ct);
        for (var start = 0; start < rows.Count; start += RowGroupSize)
            await writer.WriteRowGroupAsync(rows, start, Math.Min(RowGroupSize, rows.Count - start), ct);
        if (rows.Count == 0) await writer.WriteRowGroupAsync(rows, 0, 0, ct);
    }

    internal static async Task WriteRowGroupAsync(ParquetWriter writer, DataField[] fields, TableSchema table, IReadOnlyList<object?[]> rows, int start, int count, CancellationToken ct)
    {
        using var rg = writer.CreateRowGroup();
        for (var c = 0; c < table.Columns.Count; c++)
        {
            var col = table.Columns[c];
            var field = fields[c];
            switch (col.Type)
            {
                case ColumnType.String:
                    var s = new string?[count];
                    for (var i = 0; i < count; i++) s[i] = (string?)rows[start + i][c] ?? (col.Nullable ? null : throw NullIn(table, col));
                    await rg.WriteAsync(field, s);
                    break;
                case ColumnType.Int64:
                    await WriteStruct<long>(rg, field, col, table, rows, start, count, c, ct);
                    break;
                case ColumnType.Int32:
                    await WriteStruct<int>(rg, field, col, table, rows, start, count, c, ct);
                    break;
                case ColumnType.Double:
                    await WriteStruct<double>(rg, field, col, table, rows, start, count, c, ct);
                    break;
            }
        }
    }

    private static async Task WriteStruct<T>(ParquetRowGroupWriter rg, DataField field, Column col, TableSchema table, IReadOnlyList<object?[]> rows, int start, int count, int c, CancellationToken ct) where T : struct
    {
        if (col.Nullable)
        {
            var a = new T?[count];
            for (var i = 0; i < count; i++) a[i] = (T?)rows[start + i][c];
            await rg.WriteAsync<T>(field, a.AsMemory(), null, null, ct);
        }
        else
        {
            var a = new T[count];
            for (var i = 0; i < count; i++) a[i] = rows[start + i][c] is T v ? v : throw NullIn(table, col);
            await rg.WriteAsync<T>(field, (ReadOnlyMemory<T>)a.AsMemory(), null, null, ct);
        }
    }

    private static ArgumentNullException NullIn(TableSchema t, Column c) => new(c.Name, $"null in non-nullable column {t.Name}.{c.Name}");

    /// <summary>Reads every row of a Parquet stream (readable and seekable) written with <paramref name="table"/>'s schema.</summary>
    /// <exception cref="InvalidDataException">The file lacks a column of the schema.</exception>
    public static async Task<List<object?[]>> ReadAsync(TableSchema table, Stream input, CancellationToken ct = default)
    {
        var result = new List<object?[]>();
        await foreach (var batch in ReadRowGroupsAsync(table, input, ct)) result.AddRange(batch);
        return result;
    }

    /// <summary>Reads every row of a stored Parquet object (buffered when the store's stream cannot seek).</summary>
    /// <exception cref="Stedi.Lakehouse.Ports.ObjectNotFoundException">No such object.</exception>
    public static async Task<List<object?[]>> ReadObjectAsync(Stedi.Lakehouse.Ports.IObjectStore store, TableSchema table, string key, CancellationToken ct = default)
    {
        await using var s = await store.OpenReadAsync(key, ct);
        if (s.CanSeek) return await ReadAsync(table, s, ct);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct);
        ms.Position = 0;
        return await ReadAsync(table, ms, ct);
    }

    /// <summary>Reads a Parquet stream one row group at a time (bounded memory per group).</summary>
    public static async IAsyncEnumerable<object?[][]> ReadRowGroupsAsync(TableSchema table, Stream input, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var reader = await ParquetReader.CreateAsync(input, null, true, ct);
        var fields = reader.Schema.GetDataFields();
        var byName = fields.ToDictionary(f => f.Name);
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            var n = checked((int)rg.RowCount);
            var rows = new object?[n][];
            for (var i = 0; i < n; i++) rows[i] = new object?[table.Columns.Count];
            for (var c = 0; c < table.Columns.Count; c++)
            {
                var col = table.Columns[c];
                if (!byName.TryGetValue(col.Name, out var field))
                    throw new InvalidDataException($"parquet file has no column '{col.Name}' of table {table.Name}");
                switch (col.Type)
                {
                    case ColumnType.String:
                        var s = new string?[n];
                        await rg.ReadAsync(field, s.AsMemory(), null, ct);
                        for (var i = 0; i < n; i++) rows[i][c] = s[i];
                        break;
                    case ColumnType.Int64: await ReadStruct<long>(rg, field, rows, c, n, ct); break;
                    case ColumnType.Int32: await ReadStruct<int>(rg, field, rows, c, n, ct); break;
                    case ColumnType.Double: await ReadStruct<double>(rg, field, rows, c, n, ct); break;
                }
            }
            yield return rows;
        }
    }

    private static async Task ReadStruct<T>(ParquetRowGroupReader rg, DataField field, object?[][] rows, int c, int n, CancellationToken ct) where T : struct
    {
        if (field.IsNullable)
        {
            var a = new T?[n];
            await rg.ReadAsync<T>(field, a.AsMemory(), null, ct);
            for (var i = 0; i < n; i++) rows[i][c] = a[i];
        }
        else
        {
            var a = new T[n];
            await rg.ReadAsync<T>(field, a.AsMemory(), null, ct);
            for (var i = 0; i < n; i++) rows[i][c] = a[i];
        }
    }
}

/// <summary>An open Parquet file of one table, written one row group at a time (bounded memory).</summary>
public sealed class ParquetTableWriter : IAsyncDisposable
{
    private readonly ParquetWriter _writer;
    private readonly DataField[] _fields;
    private readonly TableSchema _table;

    private ParquetTableWriter(ParquetWriter writer, DataField[] fields, TableSchema table) => (_writer, _fields, _table) = (writer, fields, table);

    /// <summary>Rows written so far.</summary>
    public long RowCount { get; private set; }

    /// <summary>Opens a writer on a writable, seekable stream (Snappy compression).</summary>
    public static async Task<ParquetTableWriter> CreateAsync(TableSchema table, Stream output, CancellationToken ct = default)
    {
        var schema = ParquetTable.ToParquetSchema(table);
        var w = await ParquetWriter.CreateAsync(schema, output, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }, false, ct);
        return new ParquetTableWriter(w, schema.GetDataFields(), table);
    }

    /// <summary>Writes rows [start, start+count) of <paramref name="rows"/> as one row group.</summary>
    public async Task WriteRowGroupAsync(IReadOnlyList<object?[]> rows, int start, int count, CancellationToken ct = default)
    {
        await ParquetTable.WriteRowGroupAsync(_writer, _fields, _table, rows, start, count, ct);
        RowCount += count;
    }

    /// <summary>Writes the footer and releases the writer (the stream stays open).</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
