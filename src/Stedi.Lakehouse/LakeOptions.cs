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
}
