using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse;

/// <summary>Settings shared by ingest and refine.</summary>
public sealed record LakeOptions
{
    /// <summary>Semantic profile (default strict).</summary>
    public ConsentProfile Profile { get; init; } = ConsentProfile.Strict;

    /// <summary>
    /// Largest landing object one ingest accepts, in bytes; larger objects fail cleanly with
    /// <c>object_too_large</c> before any write (so a retry cannot duplicate output). Default: no limit.
    /// </summary>
    public long MaxObjectBytes { get; init; } = long.MaxValue;

    /// <summary>Rows buffered per partition before they are spilled to a temporary Parquet file (bounds ingest memory).</summary>
    public int SpillRows { get; init; } = 16_384;

    /// <summary>Folder for temporary spill files (Lambda: <c>/tmp</c>).</summary>
    public string TempDirectory { get; init; } = Path.GetTempPath();

    /// <summary>Staged objects read at once by one recompute (their GETs overlap on S3; their decoding uses the cores).</summary>
    public int ReadParallelism { get; init; } = 8;

    /// <summary>
    /// A partition whose recompute read more than this many per-object staged objects is compacted into one object, so
    /// the next recompute reads a few objects however many files landed in the partition.
    /// </summary>
    public int CompactAfterObjects { get; init; } = 32;

    /// <summary>
    /// Rows one recompute slice holds in memory. A partition with more staged rows than this is refined in slices by a
    /// hash of the customer (strict rules are per customer), each slice read, computed and written before the next, so
    /// memory stays bounded whatever an hour holds. About 120 bytes a row at the peak (typed columns, sort order, output).
    /// </summary>
    public int SliceRows { get; init; } = 2_000_000;

    /// <summary>Plausible reading and update times; records outside are quarantined as out of range (default 2015-01-01 to now + 1 day).</summary>
    public TimeWindow TimeWindow { get; init; } = TimeWindow.Default();

    /// <summary>
    /// Name endings (case-insensitive) of landing objects that hold data; any other name under a landing prefix
    /// (<c>.DS_Store</c>, <c>_SUCCESS</c>, <c>README.txt</c>, <c>*.crc</c>, <c>$folder$</c> markers) is skipped before any read.
    /// </summary>
    public IReadOnlyList<string> DataSuffixes { get; init; } = DefaultDataSuffixes;

    /// <summary>The default <see cref="DataSuffixes"/>: JSON, JSON lines and NDJSON, plain or gzip.</summary>
    public static readonly IReadOnlyList<string> DefaultDataSuffixes = [".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"];

    /// <summary>
    /// Parses a comma-separated list of name endings (<c>.json,.jsonl,.json.gz</c>): each trimmed, non-empty, starting
    /// with '.', without '/'. Empty items (a trailing comma) are ignored.
    /// </summary>
    /// <exception cref="FormatException">An ending that is not one, or no ending at all; the message says which and why.</exception>
    public static IReadOnlyList<string> ParseDataSuffixes(string text)
    {
        var list = new List<string>();
        foreach (var raw in text.Split(','))
        {
            var s = raw.Trim();
            if (s.Length == 0) continue;
            if (s[0] != '.' || s.Length < 2) throw new FormatException($"'{s}' does not start with '.' followed by a name ending (e.g. .json)");
            if (s.Contains('/') || s.Contains('\\') || s.Any(char.IsWhiteSpace)) throw new FormatException($"'{s}' holds a slash or a space: a name ending is the end of a file name (e.g. .json.gz)");
            if (!list.Contains(s, StringComparer.OrdinalIgnoreCase)) list.Add(s);
        }
        if (list.Count == 0) throw new FormatException("the list names no ending: give one or more, comma-separated (e.g. .json,.jsonl,.json.gz)");
        return list;
    }

    /// <summary>Whether a landing key names a data object: a data suffix, and a file name that is not a dotfile.</summary>
    public bool IsDataObjectName(string key)
    {
        var name = key[(key.LastIndexOf('/') + 1)..];
        if (name.Length == 0 || name.StartsWith('.')) return false;
        foreach (var s in DataSuffixes)
            if (name.Length > s.Length && name.EndsWith(s, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
