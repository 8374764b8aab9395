using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// A memory-bounded <see cref="IBatchCache"/> (least recently used out first), for the local twin: a batch run's
/// refine takes what ingest just staged, and a downstream table what its upstream just wrote, without decoding the
/// Parquet again. Sizes are estimated from rows and columns (about 12 bytes a value). Thread-safe.
/// </summary>
public sealed class MemoryBatchCache(long budgetBytes) : IBatchCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private long _bytes;

    private sealed record Entry(string Key, string ETag, ColumnBatch Batch, long Bytes);

    /// <summary>The default budget: a quarter of the memory the runtime may use, at most 2 GiB.</summary>
    public static long DefaultBudget => Math.Min(2L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <inheritdoc />
    public bool Enabled => budgetBytes > 0;

    /// <summary>Hits and misses so far.</summary>
    public (long Hits, long Misses) Stats { get { lock (_lock) return (_hits, _misses); } }

    private long _hits, _misses;

    /// <inheritdoc />
    public void Put(string key, string etag, ColumnBatch batch)
    {
        var bytes = 64L + (long)batch.Count * batch.Schema.Columns.Count * 12;
        if (bytes > budgetBytes / 4) return; // one huge batch would flush everything else for one use
        lock (_lock)
        {
            if (_entries.Remove(key, out var old)) { _lru.Remove(old); _bytes -= old.Value.Bytes; }
            _entries[key] = _lru.AddFirst(new Entry(key, etag, batch, bytes));
            _bytes += bytes;
            while (_bytes > budgetBytes && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _entries.Remove(last.Value.Key);
                _bytes -= last.Value.Bytes;
            }
        }
    }

    /// <inheritdoc />
    public bool TryGet(string key, string etag, out ColumnBatch batch)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node) && node.Value.ETag == etag)
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                batch = node.Value.Batch;
                _hits++;
                return true;
            }
            _misses++;
        }
        batch = null!;
        return false;
    }
}
