using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Columns;

/// <summary>
/// One column of a <see cref="ColumnBatch"/>: a growable typed array, never boxed. Rows are added to every column of a
/// batch at once (<see cref="ColumnBatch.AddRow"/>), starting as null (or 0 for a required column) until set.
/// </summary>
public abstract class ColumnVector
{
    /// <summary>Rows held.</summary>
    public int Count { get; protected set; }

    /// <summary>Whether the value of a row is null.</summary>
    public abstract bool IsNull(int row);

    /// <summary>Adds one row holding null (or the type's default when the column is required).</summary>
    internal abstract void AddDefault();

    /// <summary>Removes the last row.</summary>
    internal void RemoveLast() => Count--;

    /// <summary>Removes every row (capacity kept).</summary>
    internal void Clear() => Count = 0;

    /// <summary>Appends rows of another vector of the same type, in the order given.</summary>
    internal abstract void AppendFrom(ColumnVector source, ReadOnlySpan<int> rows);

    /// <summary>Appends every row of another vector of the same type.</summary>
    internal abstract void AppendAll(ColumnVector source);

    /// <summary>Appends rows [start, start+count) of another vector of the same type.</summary>
    internal abstract void AppendRange(ColumnVector source, int start, int count);

    /// <summary>Compares two rows (nulls first; strings ordinal by <paramref name="ranks"/> of their pool).</summary>
    internal abstract int CompareRows(int a, int b, int[]? ranks);

    /// <summary>Hash of a row's value (equal values, equal hashes).</summary>
    internal abstract int HashRow(int row);

    /// <summary>
    /// A 64-bit key that orders rows as <see cref="CompareRows"/> does (nulls lowest; strings by <paramref name="ranks"/>):
    /// equal values give equal keys; different keys always order as the values do.
    /// </summary>
    internal abstract long SortKey(int row, int[]? ranks);

    /// <summary>A new empty vector for a column type.</summary>
    public static ColumnVector For(ColumnType type, bool nullable, int capacity, StringPool? pool) => type switch
    {
        ColumnType.String => new StringVector(pool ?? new StringPool(), capacity),
        ColumnType.Int64 => new LongVector(nullable, capacity),
        ColumnType.Int32 => new LongVector(nullable, capacity),
        ColumnType.Double => new DoubleVector(nullable, capacity),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Grows an array to hold at least <paramref name="needed"/> items.</summary>
    protected static void Grow<T>(ref T[] array, int needed)
    {
        if (needed <= array.Length) return;
        Array.Resize(ref array, Math.Max(needed, Math.Max(16, array.Length * 2)));
    }
}

/// <summary>A string column as codes into a <see cref="StringPool"/>; code −1 is null.</summary>
public sealed class StringVector : ColumnVector
{
    private int[] _codes;

    /// <summary>Creates an empty vector over a pool (shared pools make appends between vectors free of look-ups).</summary>
    public StringVector(StringPool pool, int capacity = 0)
    {
        Pool = pool;
        _codes = new int[Math.Max(capacity, 0)];
    }

    /// <summary>The pool the codes refer to.</summary>
    public StringPool Pool { get; }

    /// <summary>The codes of the rows (−1 = null).</summary>
    public ReadOnlySpan<int> Codes => _codes.AsSpan(0, Count);

    /// <summary>The value of a row, or null.</summary>
    public string? this[int row] => _codes[row] < 0 ? null : Pool[_codes[row]];

    /// <summary>The code of a row (−1 = null).</summary>
    public int CodeAt(int row) => _codes[row];

    /// <inheritdoc />
    public override bool IsNull(int row) => _codes[row] < 0;

    /// <summary>Sets a row's value.</summary>
    public void Set(int row, string? value) => _codes[row] = value is null ? -1 : Pool.Intern(value);

    /// <summary>Sets a row's code (a code of <see cref="Pool"/>, or −1).</summary>
    public void SetCode(int row, int code) => _codes[row] = code;

    /// <summary>Appends a value.</summary>
    public void Add(string? value)
    {
        Grow(ref _codes, Count + 1);
        _codes[Count++] = value is null ? -1 : Pool.Intern(value);
    }

    internal override void AddDefault()
    {
        Grow(ref _codes, Count + 1);
        _codes[Count++] = -1;
    }

    internal override void AppendFrom(ColumnVector source, ReadOnlySpan<int> rows)
    {
        var s = (StringVector)source;
        Grow(ref _codes, Count + rows.Length);
        if (ReferenceEquals(s.Pool, Pool))
        {
            foreach (var r in rows) _codes[Count++] = s._codes[r];
            return;
        }
        var map = new int[s.Pool.Count];
        Array.Fill(map, int.MinValue);
        foreach (var r in rows)
        {
            var c = s._codes[r];
            if (c < 0) { _codes[Count++] = -1; continue; }
            if (map[c] == int.MinValue) map[c] = Pool.Intern(s.Pool[c]);
            _codes[Count++] = map[c];
        }
    }

    internal override void AppendAll(ColumnVector source)
    {
        var s = (StringVector)source;
        Grow(ref _codes, Count + s.Count);
        if (ReferenceEquals(s.Pool, Pool))
        {
            s._codes.AsSpan(0, s.Count).CopyTo(_codes.AsSpan(Count));
            Count += s.Count;
            return;
        }
        var map = new int[s.Pool.Count];
        for (var c = 0; c < map.Length; c++) map[c] = Pool.Intern(s.Pool[c]);
        for (var i = 0; i < s.Count; i++)
        {
            var c = s._codes[i];
            _codes[Count++] = c < 0 ? -1 : map[c];
        }
    }

    internal override void AppendRange(ColumnVector source, int start, int count)
    {
        var s = (StringVector)source;
        Grow(ref _codes, Count + count);
        if (ReferenceEquals(s.Pool, Pool))
        {
            s._codes.AsSpan(start, count).CopyTo(_codes.AsSpan(Count));
            Count += count;
            return;
        }
        var map = new Dictionary<int, int>();
        for (var i = start; i < start + count; i++)
        {
            var c = s._codes[i];
            if (c < 0) { _codes[Count++] = -1; continue; }
            if (!map.TryGetValue(c, out var mine)) map[c] = mine = Pool.Intern(s.Pool[c]);
            _codes[Count++] = mine;
        }
    }

    internal override int CompareRows(int a, int b, int[]? ranks)
    {
        int x = _codes[a], y = _codes[b];
        if (x == y) return 0;
        if (x < 0) return -1;
        if (y < 0) return 1;
        return ranks![x].CompareTo(ranks[y]);
    }

    internal override int HashRow(int row) => _codes[row];

    internal override long SortKey(int row, int[]? ranks) => _codes[row] < 0 ? long.MinValue : ranks![_codes[row]];

    /// <summary>Appends string values read from Parquet (interned in <see cref="Pool"/>; no string is allocated for a repeated value).</summary>
    internal void AppendRead(ReadOnlySpan<ReadOnlyMemory<char>> present, ReadOnlySpan<int> definitionLevels, int rows)
    {
        Grow(ref _codes, Count + rows);
        var v = 0;
        ReadOnlyMemory<char> last = default;
        var lastCode = -1;
        for (var i = 0; i < rows; i++)
        {
            if (!definitionLevels.IsEmpty && definitionLevels[i] == 0) { _codes[Count + i] = -1; continue; }
            var m = present[v++];
            // Dictionary-encoded pages hand out the same memory for a repeated value: skip the look-up.
            if (lastCode < 0 || !m.Equals(last)) { lastCode = Pool.Intern(m.Span); last = m; }
            _codes[Count + i] = lastCode;
        }
        Count += rows;
    }
}

/// <summary>
/// A column of fixed-size values with an optional null flag per row: the storage, appends, comparison, Parquet reads
/// and gathers that <see cref="LongVector"/> and <see cref="DoubleVector"/> share.
/// </summary>
/// <typeparam name="T">The value type (<see cref="long"/> or <see cref="double"/>).</typeparam>
public abstract class PrimitiveVector<T> : ColumnVector where T : unmanaged, IComparable<T>
{
    private protected T[] _values;
    private protected bool[]? _nulls;

    private protected PrimitiveVector(bool nullable, int capacity)
    {
        _values = new T[Math.Max(capacity, 0)];
        if (nullable) _nulls = new bool[_values.Length];
    }

    /// <summary>Whether the column can hold nulls.</summary>
    public bool Nullable => _nulls is not null;

    /// <summary>The values (meaningless where <see cref="IsNull"/>).</summary>
    public ReadOnlySpan<T> Values => _values.AsSpan(0, Count);

    /// <summary>The value of a row (the default value when null).</summary>
    public T this[int row] => _values[row];

    /// <inheritdoc />
    public override bool IsNull(int row) => _nulls is not null && _nulls[row];

    /// <summary>Sets a row's value.</summary>
    public void Set(int row, T value)
    {
        _values[row] = value;
        if (_nulls is not null) _nulls[row] = false;
    }

    internal override void AddDefault()
    {
        Grow(ref _values, Count + 1);
        if (_nulls is not null)
        {
            Grow(ref _nulls, Count + 1);
            _nulls[Count] = true;
        }
        _values[Count++] = default;
    }

    internal override void AppendFrom(ColumnVector source, ReadOnlySpan<int> rows)
    {
        var s = (PrimitiveVector<T>)source;
        Grow(ref _values, Count + rows.Length);
        if (_nulls is not null) Grow(ref _nulls, Count + rows.Length);
        foreach (var r in rows)
        {
            _values[Count] = s._values[r];
            if (_nulls is not null) _nulls[Count] = s.IsNull(r);
            Count++;
        }
    }

    internal override void AppendAll(ColumnVector source) => AppendRange(source, 0, source.Count);

    internal override void AppendRange(ColumnVector source, int start, int count)
    {
        var s = (PrimitiveVector<T>)source;
        Grow(ref _values, Count + count);
        s._values.AsSpan(start, count).CopyTo(_values.AsSpan(Count));
        if (_nulls is not null)
        {
            Grow(ref _nulls, Count + count);
            if (s._nulls is not null) s._nulls.AsSpan(start, count).CopyTo(_nulls.AsSpan(Count));
            else _nulls.AsSpan(Count, count).Clear();
        }
        Count += count;
    }

    // Numeric order, nulls first; for doubles -0.0 equals 0.0, as SQL compares them.
    internal override int CompareRows(int a, int b, int[]? ranks)
    {
        if (_nulls is not null)
        {
            bool x = _nulls[a], y = _nulls[b];
            if (x || y) return x == y ? 0 : x ? -1 : 1;
        }
        return _values[a].CompareTo(_values[b]);
    }

    /// <summary>Appends values read from Parquet: <paramref name="present"/> non-null values, placed where the definition level is set (all rows when none are given).</summary>
    internal void AppendRead(ReadOnlySpan<T> present, ReadOnlySpan<int> definitionLevels, int rows)
    {
        Grow(ref _values, Count + rows);
        if (_nulls is not null) Grow(ref _nulls, Count + rows);
        if (definitionLevels.IsEmpty)
        {
            present[..rows].CopyTo(_values.AsSpan(Count));
            if (_nulls is not null) _nulls.AsSpan(Count, rows).Clear();
        }
        else
        {
            var v = 0;
            for (var i = 0; i < rows; i++)
            {
                var isNull = definitionLevels[i] == 0;
                _values[Count + i] = isNull ? default : present[v++];
                if (_nulls is not null) _nulls[Count + i] = isNull;
            }
        }
        Count += rows;
    }

    /// <summary>The values of some rows in order, and which are null (for writing).</summary>
    internal void Gather(ReadOnlySpan<int> rows, Span<T> values, Span<bool> isNull)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            values[i] = _values[r];
            isNull[i] = _nulls is not null && _nulls[r];
        }
    }
}

/// <summary>A 64-bit integer column (Parquet INT64; INT32 schema columns are held as 64-bit and range-checked on write).</summary>
public sealed class LongVector : PrimitiveVector<long>
{
    /// <summary>Creates an empty vector.</summary>
    public LongVector(bool nullable, int capacity = 0) : base(nullable, capacity) { }

    /// <summary>The value of a row, or null.</summary>
    public long? ValueOrNull(int row) => IsNull(row) ? null : _values[row];

    /// <summary>Sets a row's value or null.</summary>
    /// <exception cref="InvalidOperationException">Null in a required column.</exception>
    public void Set(int row, long? value)
    {
        if (value is { } v) { base.Set(row, v); return; }
        if (_nulls is null) throw new InvalidOperationException("null in a required column");
        _values[row] = 0;
        _nulls[row] = true;
    }

    /// <summary>Appends a value.</summary>
    public void Add(long? value)
    {
        AddDefault();
        Set(Count - 1, value);
    }

    internal override int HashRow(int row) => IsNull(row) ? int.MinValue : _values[row].GetHashCode();

    // A real long.MinValue ties with null here; the full comparison after the key sort orders them.
    internal override long SortKey(int row, int[]? ranks) => IsNull(row) ? long.MinValue : _values[row];
}

/// <summary>A 64-bit floating point column (Parquet DOUBLE).</summary>
public sealed class DoubleVector : PrimitiveVector<double>
{
    /// <summary>Creates an empty vector.</summary>
    public DoubleVector(bool nullable, int capacity = 0) : base(nullable, capacity) { }

    /// <summary>Appends a value.</summary>
    public void Add(double value)
    {
        AddDefault();
        Set(Count - 1, value);
    }

    internal override int HashRow(int row) => IsNull(row) ? int.MinValue : (_values[row] == 0 ? 0.0 : _values[row]).GetHashCode();

    internal override long SortKey(int row, int[]? ranks)
    {
        if (IsNull(row)) return long.MinValue;
        var v = _values[row] == 0 ? 0.0 : _values[row]; // -0.0 equals 0.0
        var bits = BitConverter.DoubleToInt64Bits(v);
        return bits >= 0 ? bits : bits ^ long.MaxValue; // IEEE order as a signed integer order
    }
}
