using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Rules;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Engine;

/// <summary>
/// What a recipe may use while recomputing one partition (or one slice of it): the partition's staged rows, upstream
/// partitions (their absence decided by the index, never by a failed GET), the consent index through the profile's
/// rules, one string pool for every batch of the recompute, and the detail being tallied.
/// </summary>
public sealed class RefineContext
{
    private readonly IObjectStore _store;
    private readonly IBatchCache _cache;
    private readonly StagedReader _staged;
    private readonly Dictionary<string, string> _customerKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<ObjectInfo>> _listings = new(StringComparer.Ordinal);

    internal RefineContext(IObjectStore store, LakeIndex index, ConsentRules rules, IBatchCache cache, StagedReader staged,
        string partition, RefineDetail detail, CancellationToken ct)
    {
        _store = store;
        _cache = cache;
        _staged = staged;
        Index = index;
        Rules = rules;
        Partition = partition;
        Detail = detail;
        CancellationToken = ct;
    }

    /// <summary>The partition being recomputed.</summary>
    public string Partition { get; }

    /// <summary>The slice being recomputed, or null for the whole partition.</summary>
    public Slice? Slice { get; internal set; }

    /// <summary>The profile's rules.</summary>
    public ConsentRules Rules { get; }

    /// <summary>The index.</summary>
    public LakeIndex Index { get; }

    /// <summary>The pool every batch of this recompute (or slice) interns its strings in.</summary>
    public StringPool Pool { get; internal set; } = new();

    /// <summary>Filter and acceptance tallies of the recompute.</summary>
    public RefineDetail Detail { get; }

    /// <summary>Cancellation.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>accelerometer_trusted: trusted readings per customer key in the partition (all slices), kept in the index at commit.</summary>
    public Dictionary<string, long> TrustedCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>Rows read so far (staged, of this slice, and upstream).</summary>
    public long RowsRead { get; private set; }

    /// <summary>Objects read from the store or cache so far (staged and upstream).</summary>
    public int ObjectsRead { get; private set; }

    /// <summary>
    /// The partition's staged objects of a source, listed once per recompute: every slice reads the same objects, and
    /// the slice count is decided from the same listing.
    /// </summary>
    internal async Task<IReadOnlyList<ObjectInfo>> StagedListingAsync(TableSchema staged)
    {
        if (!_listings.TryGetValue(staged.Name, out var listing))
            _listings[staged.Name] = listing = await _staged.ListAsync(staged, Partition, CancellationToken);
        return listing;
    }

    /// <summary>The partition's (or slice's) staged rows of a source.</summary>
    public async Task<StagedRows> StagedAsync(TableSchema staged)
    {
        var rows = await _staged.ReadAsync(staged, Partition, await StagedListingAsync(staged), Pool, Slice, CancellationToken);
        ObjectsRead += rows.ObjectsRead;
        RowsRead += rows.Rows.Count;
        return rows;
    }

    /// <summary>
    /// An upstream table's partition as last committed (this partition value unless given). Whether it exists is read
    /// from its outcome in the index: a partition that never had rows, or has none now, costs no store call at all.
    /// </summary>
    public async Task<ColumnBatch> PublishedAsync(TableSchema table, string? partition = null)
    {
        partition ??= Partition;
        var empty = new ColumnBatch(table, 0, Pool);
        var outcome = await Index.Refine.GetOutcomeAsync(table.Name, partition, CancellationToken);
        if (outcome is null || outcome.RowsOut == 0) return empty;
        var key = table.PartitionObjectKey(partition);
        if (!_cache.TryGet(key, outcome.OutputHash, out var batch))
        {
            try { batch = await ParquetTable.ReadObjectAsync(_store, table, key, null, CancellationToken); }
            catch (ObjectNotFoundException) { return empty; } // emptied by a newer recompute between the two reads; it enqueues our rerun
        }
        ObjectsRead++;
        RowsRead += batch.Count;
        empty.AppendAll(batch);
        return empty;
    }

    /// <summary>The index key of an email under the rules (keyed hash of the join key), memoised for the recompute.</summary>
    public string CustomerKey(string email)
    {
        if (_customerKeys.TryGetValue(email, out var key)) return key;
        return _customerKeys[email] = Index.Keys.KeyOf(Rules.JoinKey(email));
    }

    /// <summary>The view of each customer key (every key given appears; unknown customers as <see cref="CustomerView.None"/>).</summary>
    public async Task<Dictionary<string, CustomerView>> ViewsAsync(IReadOnlyCollection<string> customerKeys)
    {
        var views = new Dictionary<string, CustomerView>(StringComparer.Ordinal);
        if (customerKeys.Count == 0) return views;
        var versions = await Index.Customers.GetVersionsAsync(customerKeys, CancellationToken);
        foreach (var g in versions.GroupBy(v => v.CustomerKey, StringComparer.Ordinal)) views[g.Key] = Rules.View(g.ToList());
        foreach (var k in customerKeys) views.TryAdd(k, CustomerView.None);
        return views;
    }
}
