using Stedi.Lakehouse.Columns;

namespace Stedi.Lakehouse.Ports;

/// <summary>
/// An optional cache of decoded Parquet objects, keyed by (key, eTag): what one step wrote, the next reads without
/// decoding it again (a batch run's staged data, an upstream partition). A stale entry can never be served, since the
/// eTag of the stored object is part of the key. Cached batches are never modified. The local twin uses a
/// memory-bounded cache; a Lambda needs none (<see cref="NoBatchCache"/>).
/// </summary>
public interface IBatchCache
{
    /// <summary>Whether writers should offer what they write (false: the writer skips the HEAD that finds the eTag).</summary>
    bool Enabled { get; }

    /// <summary>Offers a batch as the content of an object's version.</summary>
    void Put(string key, string etag, ColumnBatch batch);

    /// <summary>The batch of an object's version, when cached.</summary>
    bool TryGet(string key, string etag, out ColumnBatch batch);
}

/// <summary>The cache that holds nothing.</summary>
public sealed class NoBatchCache : IBatchCache
{
    /// <summary>The shared instance.</summary>
    public static readonly NoBatchCache Instance = new();

    /// <inheritdoc />
    public bool Enabled => false;

    /// <inheritdoc />
    public void Put(string key, string etag, ColumnBatch batch) { }

    /// <inheritdoc />
    public bool TryGet(string key, string etag, out ColumnBatch batch)
    {
        batch = null!;
        return false;
    }
}
