using System.Buffers;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Parquet;

/// <summary>
/// Reads and writes <see cref="ColumnBatch"/>es of a <see cref="TableSchema"/> as Parquet with Parquet.Net, column by
/// column from typed arrays. Epoch milliseconds stay INT64 (never INT96 or a timestamp type); only signed physical
/// types are used, so Athena reads the files as the Glue table declares them; every string column is
/// dictionary-encoded (a serial or a user repeats on thousands of rows), Snappy-compressed.
/// </summary>
public static class ParquetTable
{
    /// <summary>Rows per row group when writing (bounds writer memory).</summary>
    public const int RowGroupSize = 100_000;

    /// <summary>The Parquet.Net schema of a table: REQUIRED columns where the schema says not nullable.</summary>
    public static ParquetSchema ToParquetSchema(TableSchema table) =>
        new(table.Columns.Select(c => (Field)new DataField(c.Name, ClrType(c.Type), c.Nullable)).ToArray());

    internal static Type ClrType(ColumnType t) => t switch
    {
        ColumnType.String => typeof(string),
        ColumnType.Int64 => typeof(long),
        ColumnType.Int32 => typeof(int),
        ColumnType.Double => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Writer options: Snappy, and a dictionary-encoding hint on every string column.</summary>
    internal static ParquetOptions WriteOptions(TableSchema table, ParquetSchema schema)
    {
        var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy, DictionaryEncodingThreshold = 0.8 };
        var fields = schema.GetDataFields();
        // (Parquet.Net 6 reports string fields as ReadOnlyMemory<char>, so the table's own types decide.)
        for (var i = 0; i < fields.Length; i++)
            if (table.Columns[i].Type == ColumnType.String) options.ColumnEncodingHints[fields[i].Path.ToString()] = EncodingHint.Dictionary;
        return options;
    }

    /// <summary>
    /// Writes rows of a batch to <paramref name="output"/> (writable and seekable): the rows listed in
    /// <paramref name="rows"/> in that order, or every row; row groups of at most <see cref="RowGroupSize"/> rows.
    /// </summary>
    /// <exception cref="InvalidOperationException">A null in a required column, or an INT32 value out of range.</exception>
    public static async Task WriteAsync(ColumnBatch batch, Stream output, int[]? rows = null, CancellationToken ct = default)
    {
        rows ??= AllRows(batch.Count);
        await using var writer = await ParquetTableWriter.CreateAsync(batch.Schema, output, ct);
        for (var start = 0; start < rows.Length; start += RowGroupSize)
            await writer.WriteRowGroupAsync(batch, rows.AsMemory(start, Math.Min(RowGroupSize, rows.Length - start)), ct);
        if (rows.Length == 0) await writer.WriteRowGroupAsync(batch, ReadOnlyMemory<int>.Empty, ct);
    }

    /// <summary>0, 1, …, n−1.</summary>
    public static int[] AllRows(int n)
    {
        var r = new int[n];
        for (var i = 0; i < n; i++) r[i] = i;
        return r;
    }

    /// <summary>Reads every row of a Parquet stream (readable and seekable) written with <paramref name="table"/>'s schema.</summary>
    /// <param name="table">The table.</param>
    /// <param name="input">The file.</param>
    /// <param name="pool">The pool to intern strings into (a recompute shares one across its inputs), or null for a new one.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="InvalidDataException">The file lacks a column of the schema.</exception>
    public static async Task<ColumnBatch> ReadAsync(TableSchema table, Stream input, StringPool? pool = null, CancellationToken ct = default)
    {
        var batch = new ColumnBatch(table, 0, pool);
        await ReadIntoAsync(batch, input, ct);
        return batch;
    }

    /// <summary>Reads every row of a stored Parquet object (buffered when the store's stream cannot seek).</summary>
    /// <exception cref="ObjectNotFoundException">No such object.</exception>
    public static async Task<ColumnBatch> ReadObjectAsync(IObjectStore store, TableSchema table, string key, StringPool? pool = null, CancellationToken ct = default)
    {
        await using var s = await store.OpenReadAsync(key, ct);
        if (s.CanSeek) return await ReadAsync(table, s, pool, ct);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct);
        ms.Position = 0;
        return await ReadAsync(table, ms, pool, ct);
    }

    /// <summary>Appends every row of a Parquet stream to a batch of the same table.</summary>
    public static async Task ReadIntoAsync(ColumnBatch batch, Stream input, CancellationToken ct = default)
    {
        await foreach (var _ in ReadRowGroupsIntoAsync(batch, input, ct)) { }
    }

    /// <summary>
    /// Reads a Parquet stream one row group at a time into a batch that is CLEARED before each group (bounded memory
    /// whatever the file's size); yields the number of rows of each group.
    /// </summary>
    public static async IAsyncEnumerable<int> ReadRowGroupsAsync(ColumnBatch reuse, Stream input, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var reader = await ParquetReader.CreateAsync(input, null, true, ct);
        var fields = Resolve(reuse.Schema, reader);
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            reuse.Clear();
            yield return await ReadGroupAsync(reader, g, fields, reuse, ct);
        }
    }

    private static async IAsyncEnumerable<int> ReadRowGroupsIntoAsync(ColumnBatch batch, Stream input, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var reader = await ParquetReader.CreateAsync(input, null, true, ct);
        var fields = Resolve(batch.Schema, reader);
        for (var g = 0; g < reader.RowGroupCount; g++) yield return await ReadGroupAsync(reader, g, fields, batch, ct);
    }

    private static DataField[] Resolve(TableSchema table, ParquetReader reader)
    {
        var byName = reader.Schema.GetDataFields().ToDictionary(f => f.Name);
        return table.Columns.Select(c => byName.TryGetValue(c.Name, out var f) ? f
            : throw new InvalidDataException($"parquet file has no column '{c.Name}' of table {table.Name}")).ToArray();
    }

    private static async Task<int> ReadGroupAsync(ParquetReader reader, int group, DataField[] fields, ColumnBatch batch, CancellationToken ct)
    {
        using var rg = reader.OpenRowGroupReader(group);
        var n = checked((int)rg.RowCount);
        var defs = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        try
        {
            for (var c = 0; c < fields.Length; c++)
            {
                var field = fields[c];
                var levels = field.MaxDefinitionLevel > 0 ? defs.AsMemory(0, n) : (Memory<int>?)null;
                switch (batch[c])
                {
                    case StringVector sv:
                    {
                        var raw = ArrayPool<ReadOnlyMemory<char>>.Shared.Rent(Math.Max(n, 1));
                        try
                        {
                            await rg.ReadRawAsync(field, raw.AsMemory(0, n), levels, null, ct);
                            sv.AppendRead(raw.AsSpan(0, n), levels is null ? default : defs.AsSpan(0, n), n);
                        }
                        finally { ArrayPool<ReadOnlyMemory<char>>.Shared.Return(raw, clearArray: true); }
                        break;
                    }
                    case LongVector lv when field.ClrType == typeof(int):
                    {
                        var raw = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
                        var wide = ArrayPool<long>.Shared.Rent(Math.Max(n, 1));
                        try
                        {
                            await rg.ReadRawAsync(field, raw.AsMemory(0, n), levels, null, ct);
                            for (var i = 0; i < n; i++) wide[i] = raw[i];
                            lv.AppendRead(wide.AsSpan(0, n), levels is null ? default : defs.AsSpan(0, n), n);
                        }
                        finally { ArrayPool<int>.Shared.Return(raw); ArrayPool<long>.Shared.Return(wide); }
                        break;
                    }
                    case LongVector lv:
                    {
                        var raw = ArrayPool<long>.Shared.Rent(Math.Max(n, 1));
                        try
                        {
                            await rg.ReadRawAsync(field, raw.AsMemory(0, n), levels, null, ct);
                            lv.AppendRead(raw.AsSpan(0, n), levels is null ? default : defs.AsSpan(0, n), n);
                        }
                        finally { ArrayPool<long>.Shared.Return(raw); }
                        break;
                    }
                    case DoubleVector dv:
                    {
                        var raw = ArrayPool<double>.Shared.Rent(Math.Max(n, 1));
                        try
                        {
                            await rg.ReadRawAsync(field, raw.AsMemory(0, n), levels, null, ct);
                            dv.AppendRead(raw.AsSpan(0, n), levels is null ? default : defs.AsSpan(0, n), n);
                        }
                        finally { ArrayPool<double>.Shared.Return(raw); }
                        break;
                    }
                }
            }
        }
        finally { ArrayPool<int>.Shared.Return(defs); }
        batch.SetCountAfterRead();
        return n;
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

    /// <summary>Opens a writer on a writable, seekable stream (Snappy compression, dictionary-encoded strings).</summary>
    public static async Task<ParquetTableWriter> CreateAsync(TableSchema table, Stream output, CancellationToken ct = default)
    {
        var schema = ParquetTable.ToParquetSchema(table);
        var w = await ParquetWriter.CreateAsync(schema, output, ParquetTable.WriteOptions(table, schema), false, ct);
        return new ParquetTableWriter(w, schema.GetDataFields(), table);
    }

    /// <summary>Writes the listed rows of a batch of this writer's table as one row group, in that order.</summary>
    /// <exception cref="InvalidOperationException">A null in a required column, or an INT32 value out of range.</exception>
    public async Task WriteRowGroupAsync(ColumnBatch batch, ReadOnlyMemory<int> rows, CancellationToken ct = default)
    {
        if (!batch.Schema.Equals(_table)) throw new ArgumentException($"batch of {batch.Schema.Name} written to {_table.Name}", nameof(batch));
        var n = rows.Length;
        using var rg = _writer.CreateRowGroup();
        var isNull = ArrayPool<bool>.Shared.Rent(Math.Max(n, 1));
        try
        {
            for (var c = 0; c < _fields.Length; c++)
            {
                var col = _table.Columns[c];
                var field = _fields[c];
                switch (batch[c])
                {
                    case StringVector sv:
                    {
                        var values = ArrayPool<ReadOnlyMemory<char>?>.Shared.Rent(Math.Max(n, 1));
                        try
                        {
                            var span = rows.Span;
                            for (var i = 0; i < n; i++)
                            {
                                var code = sv.CodeAt(span[i]);
                                if (code < 0 && !col.Nullable) throw NullIn(col);
                                values[i] = code < 0 ? (ReadOnlyMemory<char>?)null : sv.Pool[code].AsMemory();
                            }
                            await rg.WriteAsync<ReadOnlyMemory<char>>(field, values.AsMemory(0, n), null, null, ct);
                        }
                        finally { ArrayPool<ReadOnlyMemory<char>?>.Shared.Return(values, clearArray: true); }
                        break;
                    }
                    case LongVector lv when col.Type == ColumnType.Int32:
                    {
                        var wide = ArrayPool<long>.Shared.Rent(Math.Max(n, 1));
                        try
                        {
                            lv.Gather(rows.Span, wide.AsSpan(0, n), isNull.AsSpan(0, n));
                            if (col.Nullable)
                            {
                                var a = new int?[n];
                                for (var i = 0; i < n; i++) a[i] = isNull[i] ? null : checked((int)wide[i]);
                                await rg.WriteAsync<int>(field, a.AsMemory(), null, null, ct);
                            }
                            else
                            {
                                var a = new int[n];
                                for (var i = 0; i < n; i++) a[i] = isNull[i] ? throw NullIn(col) : checked((int)wide[i]);
                                await rg.WriteAsync<int>(field, (ReadOnlyMemory<int>)a.AsMemory(), null, null, ct);
                            }
                        }
                        finally { ArrayPool<long>.Shared.Return(wide); }
                        break;
                    }
                    case LongVector lv:
                        await WriteStructAsync<long>(rg, field, col, n, isNull, (v, nl) => lv.Gather(rows.Span, v, nl), ct);
                        break;
                    case DoubleVector dv:
                        await WriteStructAsync<double>(rg, field, col, n, isNull, (v, nl) => dv.Gather(rows.Span, v, nl), ct);
                        break;
                }
            }
        }
        finally { ArrayPool<bool>.Shared.Return(isNull); }
        RowCount += n;
    }

    private delegate void Gatherer<T>(Span<T> values, Span<bool> isNull);

    private static async Task WriteStructAsync<T>(ParquetRowGroupWriter rg, DataField field, Column col, int n, bool[] isNull, Gatherer<T> gather, CancellationToken ct) where T : struct
    {
        var values = ArrayPool<T>.Shared.Rent(Math.Max(n, 1));
        try
        {
            gather(values.AsSpan(0, n), isNull.AsSpan(0, n));
            if (col.Nullable)
            {
                var a = ArrayPool<T?>.Shared.Rent(Math.Max(n, 1));
                try
                {
                    for (var i = 0; i < n; i++) a[i] = isNull[i] ? null : values[i];
                    await rg.WriteAsync<T>(field, a.AsMemory(0, n), null, null, ct);
                }
                finally { ArrayPool<T?>.Shared.Return(a); }
            }
            else
            {
                for (var i = 0; i < n; i++) if (isNull[i]) throw NullIn(col);
                await rg.WriteAsync<T>(field, (ReadOnlyMemory<T>)values.AsMemory(0, n), null, null, ct);
            }
        }
        finally { ArrayPool<T>.Shared.Return(values); }
    }

    private static InvalidOperationException NullIn(Column c) => new($"null in required column {c.Name}");

    /// <summary>Writes the footer and releases the writer (the stream stays open).</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
