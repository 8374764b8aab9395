using System.Runtime.InteropServices;
using System.Text;

namespace Stedi.Lakehouse.Columns;

/// <summary>
/// The distinct strings of one or more <see cref="StringVector"/>s: code → string and string → code. Repeated values
/// (a reading's user, a serial number) are stored once and carried as 4-byte codes, which is also how Parquet's
/// dictionary encoding writes them. Not thread-safe: a pool belongs to one batch builder or one recompute.
/// </summary>
public sealed class StringPool
{
    private readonly List<string> _values = [];
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private int[]? _ranks;

    /// <summary>Creates an empty pool.</summary>
    public StringPool() => _byChars = _codes.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Number of distinct strings.</summary>
    public int Count => _values.Count;

    /// <summary>The string of a code (0 ≤ code &lt; <see cref="Count"/>).</summary>
    public string this[int code] => _values[code];

    /// <summary>The code of a string, adding it when new.</summary>
    public int Intern(string value)
    {
        ref var code = ref CollectionsMarshal.GetValueRefOrAddDefault(_codes, value, out var exists);
        if (!exists) { code = _values.Count; _values.Add(value); _ranks = null; }
        return code;
    }

    /// <summary>The code of a string given as characters; allocates a string only when it is new.</summary>
    public int Intern(ReadOnlySpan<char> value)
    {
        if (_byChars.TryGetValue(value, out var code)) return code;
        return Intern(value.ToString());
    }

    /// <summary>The code of a string given as UTF-8 bytes (no escapes); allocates only when it is new.</summary>
    public int InternUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= 256)
        {
            Span<char> chars = stackalloc char[256];
            var n = Encoding.UTF8.GetChars(utf8, chars);
            return Intern(chars[..n]);
        }
        return Intern(Encoding.UTF8.GetString(utf8));
    }

    /// <summary>The code of a string when the pool holds it.</summary>
    public bool TryGetCode(string value, out int code) => _codes.TryGetValue(value, out code);

    /// <summary>
    /// The ordinal rank of every code (rank[code] orders the strings as <see cref="string.CompareOrdinal(string, string)"/>),
    /// so that sorting by a string column compares integers. Computed once per state of the pool.
    /// </summary>
    public int[] Ranks()
    {
        if (_ranks is { } r && r.Length == _values.Count) return r;
        var order = new int[_values.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var values = _values;
        Array.Sort(order, (a, b) => string.CompareOrdinal(values[a], values[b]));
        var ranks = new int[order.Length];
        for (var i = 0; i < order.Length; i++) ranks[order[i]] = i;
        return _ranks = ranks;
    }
}
