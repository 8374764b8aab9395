using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Columns;

/// <summary>
/// Rows of one table as typed columns, in the table's column order (<see cref="TableSchema.Columns"/>): strings as
/// pool codes, numbers unboxed. Every batch of a recompute shares one <see cref="StringPool"/> where it can, so that
/// moving rows between batches copies integers. Column positions come only from the schema
/// (<see cref="TableSchema.Ordinal"/>). Not thread-safe.
/// </summary>
public sealed class ColumnBatch
{
    private readonly ColumnVector[] _columns;

    /// <summary>Creates an empty batch.</summary>
    /// <param name="schema">The table whose columns the batch holds.</param>
    /// <param name="capacity">Rows to reserve.</param>
    /// <param name="pool">The pool of every string column (a new one when null).</param>
    public ColumnBatch(TableSchema schema, int capacity = 0, StringPool? pool = null)
    {
        Schema = schema;
        Pool = pool ?? new StringPool();
        _columns = new ColumnVector[schema.Columns.Count];
        for (var i = 0; i < _columns.Length; i++)
        {
            var c = schema.Columns[i];
            _columns[i] = ColumnVector.For(c.Type, c.Nullable, capacity, Pool);
        }
    }

    /// <summary>The table.</summary>
    public TableSchema Schema { get; }

    /// <summary>The pool of the string columns.</summary>
    public StringPool Pool { get; }

    /// <summary>Rows held.</summary>
    public int Count { get; private set; }

    /// <summary>The vector of a column position.</summary>
    public ColumnVector this[int ordinal] => _columns[ordinal];

    /// <summary>The string vector of a column.</summary>
    /// <exception cref="ArgumentException">No such column in the schema.</exception>
    /// <exception cref="InvalidCastException">Not a string column.</exception>
    public StringVector Strings(Column column) => (StringVector)_columns[Schema.Ordinal(column)];

    /// <summary>The integer vector of a column.</summary>
    public LongVector Longs(Column column) => (LongVector)_columns[Schema.Ordinal(column)];

    /// <summary>The double vector of a column.</summary>
    public DoubleVector Doubles(Column column) => (DoubleVector)_columns[Schema.Ordinal(column)];

    /// <summary>Adds a row with every column null (or 0 where required) and returns its index; set its values next.</summary>
    public int AddRow()
    {
        foreach (var c in _columns) c.AddDefault();
        return Count++;
    }

    /// <summary>Removes every row; capacity and pool are kept (a reused read buffer).</summary>
    public void Clear()
    {
        foreach (var c in _columns) c.Clear();
        Count = 0;
    }

    /// <summary>After columns were filled one by one (a Parquet read), the batch's count is theirs; they must agree.</summary>
    internal void SetCountAfterRead()
    {
        var n = _columns.Length == 0 ? 0 : _columns[0].Count;
        foreach (var c in _columns)
            if (c.Count != n) throw new InvalidDataException($"columns of {Schema.Name} have different lengths ({c.Count} and {n})");
        Count = n;
    }

    /// <summary>The rows as boxed arrays in column order (string, long, double or null) — for tests and tools, never the data path.</summary>
    public List<object?[]> ToRows()
    {
        var result = new List<object?[]>(Count);
        for (var r = 0; r < Count; r++)
        {
            var row = new object?[_columns.Length];
            for (var c = 0; c < _columns.Length; c++)
                row[c] = _columns[c] switch
                {
                    StringVector s => s[r],
                    LongVector l => l.IsNull(r) ? null : Schema.Columns[c].Type == ColumnType.Int32 ? (int)l[r] : l[r],
                    DoubleVector d => d.IsNull(r) ? null : d[r],
                    _ => null,
                };
            result.Add(row);
        }
        return result;
    }

    /// <summary>Removes the last row (a record rejected half-way through parsing).</summary>
    public void RemoveLastRow()
    {
        if (Count == 0) return;
        foreach (var c in _columns) c.RemoveLast();
        Count--;
    }

    /// <summary>Appends the given rows of another batch of the same table, in that order.</summary>
    /// <exception cref="ArgumentException">The other batch is of another table.</exception>
    public void Append(ColumnBatch source, ReadOnlySpan<int> rows)
    {
        CheckSameShape(source);
        for (var i = 0; i < _columns.Length; i++) _columns[i].AppendFrom(source._columns[i], rows);
        Count += rows.Length;
    }

    /// <summary>
    /// Appends rows [start, start+count) of another batch whose columns include this table's (by name, e.g. a compacted
    /// staged object with its extra object id column): contiguous copies.
    /// </summary>
    public void AppendRange(ColumnBatch source, int start, int count)
    {
        for (var i = 0; i < _columns.Length; i++)
        {
            var o = ReferenceEquals(source.Schema, Schema) ? i : source.Schema.Ordinal(Schema.Columns[i]);
            _columns[i].AppendRange(source._columns[o], start, count);
        }
        Count += count;
    }

    /// <summary>Appends every row of another batch of the same table.</summary>
    public void AppendAll(ColumnBatch source)
    {
        CheckSameShape(source);
        for (var i = 0; i < _columns.Length; i++) _columns[i].AppendAll(source._columns[i]);
        Count += source.Count;
    }

    /// <summary>
    /// Appends rows of a batch of ANOTHER table, mapping columns by identity (<see cref="Column"/> objects): e.g. the
    /// data columns of a staged row into a published table. Columns of this table absent from the source stay null.
    /// </summary>
    public void AppendProjected(ColumnBatch source, ReadOnlySpan<int> rows)
    {
        var start = Count;
        for (var i = 0; i < _columns.Length; i++)
        {
            var col = Schema.Columns[i];
            if (source.Schema.TryOrdinal(col, out var s)) _columns[i].AppendFrom(source._columns[s], rows);
            else for (var r = 0; r < rows.Length; r++) _columns[i].AddDefault();
        }
        Count = start + rows.Length;
    }

    /// <summary>
    /// Appends one row of a batch of another table through a column map (<paramref name="map"/>[i] = the source position
    /// of this table's column i, or −1 for null): the per-row path of a recipe's output, without look-ups.
    /// </summary>
    public void AppendMapped(ColumnBatch source, int row, int[] map)
    {
        Span<int> one = [row];
        for (var i = 0; i < _columns.Length; i++)
        {
            if (map[i] >= 0) _columns[i].AppendFrom(source._columns[map[i]], one);
            else _columns[i].AddDefault();
        }
        Count++;
    }

    /// <summary>Compares two rows over the given column positions (nulls first, strings ordinal).</summary>
    public RowComparison Comparer(params int[] ordinals) => new(this, ordinals);

    /// <summary>Compares two rows over every column, in column order.</summary>
    public RowComparison FullComparer() => new(this, Enumerable.Range(0, _columns.Length).ToArray());

    /// <summary>
    /// Row indexes 0..Count-1 sorted by a comparison; ties keep index order (stable). Rows are first sorted by 64-bit
    /// keys of the first two compared columns (a primitive sort, no delegate per comparison); only runs whose keys tie
    /// are ordered by the full comparison.
    /// </summary>
    public int[] SortedRows(RowComparison comparison)
    {
        var n = Count;
        var keys = new SortKey[n];
        var (c0, r0) = comparison.Column(0);
        var (c1, r1) = comparison.Column(1);
        for (var i = 0; i < n; i++)
            keys[i] = new SortKey(c0 is null ? 0 : c0.SortKey(i, r0), c1 is null ? 0 : c1.SortKey(i, r1), i);
        Array.Sort(keys, default(SortKeyComparer));
        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = keys[i].Row;
        // Runs of equal keys: the remaining columns (and ties on the first two beyond what the keys tell) decide.
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && keys[end].A == keys[start].A && keys[end].B == keys[start].B) end++;
            if (end - start > 1)
                Array.Sort(order, start, end - start, Comparer<int>.Create((a, b) =>
                {
                    var c = comparison.Compare(a, b);
                    return c != 0 ? c : a.CompareTo(b);
                }));
            start = end;
        }
        return order;
    }

    private readonly record struct SortKey(long A, long B, int Row);

    private readonly struct SortKeyComparer : IComparer<SortKey>
    {
        public int Compare(SortKey x, SortKey y)
        {
            var c = x.A.CompareTo(y.A);
            if (c != 0) return c;
            c = x.B.CompareTo(y.B);
            return c != 0 ? c : x.Row.CompareTo(y.Row);
        }
    }

    private void CheckSameShape(ColumnBatch source)
    {
        if (!ReferenceEquals(source.Schema, Schema) && !source.Schema.Columns.SequenceEqual(Schema.Columns))
            throw new ArgumentException($"batch of {source.Schema.Name} appended to {Schema.Name}", nameof(source));
    }
}

/// <summary>A row comparison over some columns of one batch (ordinal string order via the pool's ranks).</summary>
public sealed class RowComparison
{
    private readonly ColumnBatch _batch;
    private readonly int[] _ordinals;
    private readonly int[]?[] _ranks;

    internal RowComparison(ColumnBatch batch, int[] ordinals)
    {
        _batch = batch;
        _ordinals = ordinals;
        _ranks = new int[]?[ordinals.Length];
        for (var i = 0; i < ordinals.Length; i++)
            if (batch[ordinals[i]] is StringVector s) _ranks[i] = s.Pool.Ranks();
    }

    /// <summary>Negative, zero or positive as row <paramref name="a"/> sorts before, with or after row <paramref name="b"/>.</summary>
    public int Compare(int a, int b)
    {
        for (var i = 0; i < _ordinals.Length; i++)
        {
            var c = _batch[_ordinals[i]].CompareRows(a, b, _ranks[i]);
            if (c != 0) return c;
        }
        return 0;
    }

    /// <summary>The vector and string ranks of the i-th compared column, or (null, null) past the last.</summary>
    internal (ColumnVector? Vector, int[]? Ranks) Column(int i) => i < _ordinals.Length ? (_batch[_ordinals[i]], _ranks[i]) : (null, null);

    /// <summary>Whether two rows are equal over the columns.</summary>
    public bool Equal(int a, int b) => Compare(a, b) == 0;
}
