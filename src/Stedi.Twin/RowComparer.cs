namespace Stedi.Twin;

/// <summary>Total order and equality over boxed rows read back for checks (ordinal strings, nulls first, numbers numerically): how tools and tests compare tables, never the data path.</summary>
public sealed class RowComparer : IComparer<object?[]>, IEqualityComparer<object?[]>
{
    /// <summary>The shared instance.</summary>
    public static readonly RowComparer Instance = new();

    /// <inheritdoc />
    public int Compare(object?[]? x, object?[]? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            var c = CompareValue(x[i], y[i]);
            if (c != 0) return c;
        }
        return x.Length.CompareTo(y.Length);
    }

    private static int CompareValue(object? a, object? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        (string s, string t) => string.CompareOrdinal(s, t),
        (long l, long m) => l.CompareTo(m),
        (int l, int m) => l.CompareTo(m),
        (double l, double m) => l.CompareTo(m),
        _ => string.CompareOrdinal(a.GetType().Name, b.GetType().Name),
    };

    /// <inheritdoc />
    public bool Equals(object?[]? x, object?[]? y) => Compare(x, y) == 0;

    /// <inheritdoc />
    public int GetHashCode(object?[] obj)
    {
        var h = new HashCode();
        foreach (var v in obj) h.Add(v);
        return h.ToHashCode();
    }
}
