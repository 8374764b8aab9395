using System.Security.Cryptography;
using System.Text;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Rules;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Engine;

/// <summary>What one recompute did.</summary>
/// <param name="Table">Table.</param>
/// <param name="Partition">Partition.</param>
/// <param name="RowsOut">Rows written.</param>
/// <param name="Changed">Whether the output's bytes changed.</param>
/// <param name="FollowUps">Recomputes enqueued after it.</param>
/// <param name="ObjectsRead">Objects read (staged, compacted, upstream).</param>
/// <param name="Slices">Slices the partition was computed in.</param>
public sealed record RefineResult(string Table, string Partition, long RowsOut, bool Changed, int FollowUps, int ObjectsRead, int Slices);

/// <summary>
/// Refine: recomputes ONE partition of ONE published table with the table's recipe, from state as it is now; writes
/// it as one Parquet object under a deterministic key (unchanged bytes are not rewritten), keeps the recipe's side
/// state, enqueues what the refresh graph says follows, and commits its outcome in the index last. A partition too big
/// for <see cref="LakeOptions.SliceRows"/> is computed slice by slice (by a hash of the customer or serial) into one
/// object, so memory is bounded whatever an hour holds. No catalog call: the tables and their partitions are declared
/// by the deployment (partition projection) and by the local views.
/// </summary>
public sealed class Refiner
{
    private readonly IObjectStore _store;
    private readonly LakeIndex _index;
    private readonly IWorkQueue _queue;
    private readonly LakeOptions _options;
    private readonly ILakeLog _log;
    private readonly IBatchCache _cache;
    private readonly RefreshGraph _graph;
    private readonly ConsentRules _rules;
    private readonly IReadOnlyDictionary<string, ITableRecipe> _recipes;
    private readonly StagedReader _staged;

    /// <summary>Creates the refine over its ports.</summary>
    public Refiner(IObjectStore store, LakeIndex index, IWorkQueue queue, LakeOptions options, ILakeLog? log = null, IBatchCache? cache = null, RefreshGraph? graph = null)
    {
        _store = store;
        _index = index;
        _queue = queue;
        _options = options;
        _log = log ?? NullLakeLog.Instance;
        _cache = cache ?? NoBatchCache.Instance;
        _graph = graph ?? RefreshGraph.Stedi;
        _rules = ConsentRules.For(options.Profile);
        _recipes = Recipes.For(options.Profile);
        _staged = new StagedReader(store, _cache, options);
    }

    /// <summary>The refresh graph the refiner follows.</summary>
    public RefreshGraph Graph => _graph;

    /// <summary>Recomputes one partition of one table.</summary>
    /// <exception cref="ArgumentException">Unknown table.</exception>
    public async Task<RefineResult> RefineAsync(RefreshWork work, CancellationToken ct = default)
    {
        if (!_recipes.TryGetValue(work.Table, out var recipe)) throw new ArgumentException($"unknown table '{work.Table}'", nameof(work));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Before reading any input: work that arrives from now on is not coalesced into this run (docs/ARCHITECTURE.md §7, trap a).
        await _queue.StartingAsync(work, ct);
        var previous = await _index.Refine.GetOutcomeAsync(work.Table, work.Partition, ct);
        var detail = new RefineDetail { Table = work.Table, Partition = work.Partition };
        var ctx = new RefineContext(_store, _index, _rules, _cache, _staged, work.Partition, detail, ct);

        var slices = await SlicesAsync(recipe, ctx);
        var key = recipe.Output.PartitionObjectKey(work.Partition);
        string hash;
        long rows;
        ColumnBatch? whole = null;
        var temp = Path.Combine(_options.TempDirectory, $"stedi-refine-{Guid.NewGuid():N}.parquet");
        await using (var file = slices == 1 ? (Stream)new MemoryStream() : new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose))
        {
            await using (var writer = await ParquetTableWriter.CreateAsync(recipe.Output, file, ct))
            {
                for (var s = 0; s < slices; s++)
                {
                    if (slices > 1)
                    {
                        var by = recipe.SliceBy!.Value;
                        ctx.Slice = new Slice(s, slices, by.Key, by.Key == Fields.User || by.Key == Fields.Email ? _rules.JoinKey : static v => v);
                        ctx.Pool = new StringPool(); // each slice's strings only: memory stays that of one slice
                    }
                    var (batch, order) = await recipe.ComputeAsync(ctx);
                    for (var start = 0; start < order.Length; start += ParquetTable.RowGroupSize)
                        await writer.WriteRowGroupAsync(batch, order.AsMemory(start, Math.Min(ParquetTable.RowGroupSize, order.Length - start)), ct);
                    if (slices == 1 && _cache.Enabled) whole = Ordered(batch, order);
                }
                rows = writer.RowCount;
            }
            file.Position = 0;
            hash = rows == 0 ? "empty" : Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
            detail.RowsOut = rows;
            file.Position = 0;
            await WriteOutputAsync(key, file, rows, hash, previous, ct);
        }
        var changed = previous is null ? rows > 0 : previous.OutputHash != hash;
        if (whole is not null && rows > 0 && _cache.Enabled) _cache.Put(key, hash, whole);

        // Side state, then follow-ups (after our writes committed), then the outcome: the commit point, written last,
        // so that a retry after a crash anywhere above compares against the last completed recompute again.
        var previousDetail = recipe.KeepsSideState && previous?.DetailKey is { } dk ? await ReadDetailAsync(dk, ct) : null;
        var flips = await recipe.CommitSideStateAsync(ctx, previousDetail);
        var detailJson = detail.ToJson();
        var detailKey = LakeKeys.RefineDetail(work.Table, work.Partition, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(detailJson))));
        await _store.PutAsync(detailKey, new MemoryStream(Encoding.UTF8.GetBytes(detailJson)), "application/json", ct);
        var followUps = await _graph.FollowUpsAsync(new Change(Node.Table(work.Table), [work.Partition], changed, flips), _index, ct);
        if (followUps.Count > 0) await _queue.EnqueueAsync(followUps, $"refine:{work.GroupId}:{hash[..Math.Min(16, hash.Length)]}", ct);
        await _index.Refine.PutOutcomeAsync(new PartitionOutcome(work.Table, work.Partition, rows, hash, detailKey), ct);
        if (previous?.DetailKey is { } old && old != detailKey) await _store.DeleteAsync(old, ct);

        _log.Info("refined", ("table", work.Table), ("partition", work.Partition), ("rows", rows), ("changed", changed), ("followUps", followUps.Count),
            ("objectsRead", ctx.ObjectsRead), ("rowsRead", ctx.RowsRead), ("slices", slices), ("ms", (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds));
        return new RefineResult(work.Table, work.Partition, rows, changed, followUps.Count, ctx.ObjectsRead, slices);
    }

    /// <summary>Slices needed: the staged rows (estimated from the listing's bytes) per <see cref="LakeOptions.SliceRows"/>.</summary>
    private async Task<int> SlicesAsync(ITableRecipe recipe, RefineContext ctx)
    {
        if (recipe.SliceBy is not { } by) return 1;
        var bytes = StagedReader.ParquetBytes(await ctx.StagedListingAsync(by.Staged));
        // Typed staged Parquet holds 8-12 bytes a row; assuming 4 keeps a slice under its row budget.
        var estimatedRows = bytes / 4;
        return (int)Math.Clamp((estimatedRows + _options.SliceRows - 1) / Math.Max(1, _options.SliceRows), 1, 4096);
    }

    private static ColumnBatch Ordered(ColumnBatch batch, int[] order)
    {
        var result = new ColumnBatch(batch.Schema, order.Length, batch.Pool);
        result.Append(batch, order);
        return result;
    }

    /// <summary>Writes (or deletes) the partition object unless the previous outcome already has these bytes there.</summary>
    private async Task WriteOutputAsync(string key, Stream content, long rows, string hash, PartitionOutcome? previous, CancellationToken ct)
    {
        if (rows == 0)
        {
            if (previous is not null && previous.RowsOut > 0) await _store.DeleteAsync(key, ct);
            return;
        }
        if (previous?.OutputHash == hash && await _store.HeadAsync(key, ct) is not null) return;
        await _store.PutAsync(key, content, "application/vnd.apache.parquet", ct);
    }

    private async Task<RefineDetail?> ReadDetailAsync(string key, CancellationToken ct)
    {
        try
        {
            await using var s = await _store.OpenReadAsync(key, ct);
            using var reader = new StreamReader(s, Encoding.UTF8);
            return RefineDetail.FromJson(await reader.ReadToEndAsync(ct));
        }
        catch (ObjectNotFoundException) { return null; }
    }
}
