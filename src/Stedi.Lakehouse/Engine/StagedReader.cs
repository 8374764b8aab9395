using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Engine;

/// <summary>
/// A partition's staged rows, in (landing object id, line) order so every tie-break is deterministic, with the landing
/// object each row came from (for the per-object reconciliation).
/// </summary>
public sealed class StagedRows
{
    internal StagedRows(ColumnBatch rows, string[] objectIds, int[] objectOfRow, int objectsRead, int compactedObjects)
    {
        Rows = rows;
        ObjectIds = objectIds;
        ObjectOfRow = objectOfRow;
        ObjectsRead = objectsRead;
        CompactedObjects = compactedObjects;
    }

    /// <summary>The rows (the staged table's columns).</summary>
    public ColumnBatch Rows { get; }

    /// <summary>Distinct landing object ids, ordinally sorted.</summary>
    public string[] ObjectIds { get; }

    /// <summary>For each row, its index into <see cref="ObjectIds"/>.</summary>
    public int[] ObjectOfRow { get; }

    /// <summary>The landing object id of a row.</summary>
    public string ObjectOf(int row) => ObjectIds[ObjectOfRow[row]];

    /// <summary>Objects fetched from the store or the cache for this read (a compacted object counts once).</summary>
    public int ObjectsRead { get; }

    /// <summary>Landing objects whose rows came out of a compacted object.</summary>
    public int CompactedObjects { get; }
}

/// <summary>
/// Reads a partition's staged objects — in parallel, bounded; through the batch cache — and compacts them: once a
/// partition has gathered more than <see cref="LakeOptions.CompactAfterObjects"/> per-object staged objects, the refine
/// writes all its rows (with their landing object ids) as one compacted object whose manifest lists the (key, eTag)
/// of every object it absorbed. The next read takes each absorbed object's rows from the compacted object while that
/// object is still listed with the same eTag, and reads only what changed or is new, so a recompute reads a few
/// objects however many files landed in the hour. The originals stay: the listing of the partition remains the one
/// truth of which landing objects exist (a replaced or retracted object drops out of the compacted rows by itself).
/// </summary>
internal sealed class StagedReader(IObjectStore store, IBatchCache cache, LakeOptions options)
{
    private sealed record CompactManifest(string ParquetKey, Dictionary<string, string> Included);

    /// <summary>A partition's staged objects (one LIST); a recompute lists once and reads every slice from that listing.</summary>
    public Task<IReadOnlyList<ObjectInfo>> ListAsync(TableSchema staged, string partition, CancellationToken ct) =>
        store.ListAsync(staged.PartitionPrefix(partition), ct);

    /// <summary>Bytes of a listing's Parquet objects, to decide how many slices a recompute needs.</summary>
    public static long ParquetBytes(IReadOnlyList<ObjectInfo> listing) =>
        listing.Where(o => !o.Key.EndsWith(".json", StringComparison.Ordinal)).Sum(o => o.Size);

    /// <summary>
    /// Reads the staged rows of a partition — all of them, or one slice's; compacts the partition when due (after
    /// reading, so the compaction holds what was read; never while slicing).
    /// </summary>
    /// <param name="staged">The source's staged table.</param>
    /// <param name="partition">Partition value.</param>
    /// <param name="listed">The partition's listing (<see cref="ListAsync"/>).</param>
    /// <param name="pool">String pool of the recompute (or slice).</param>
    /// <param name="slice">The slice to keep, or null for every row.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<StagedRows> ReadAsync(TableSchema staged, string partition, IReadOnlyList<ObjectInfo> listed, StringPool pool, Slice? slice, CancellationToken ct)
    {
        var prefix = staged.PartitionPrefix(partition);
        var objects = new Dictionary<string, ObjectInfo>(StringComparer.Ordinal);
        var compactManifests = new List<ObjectInfo>();
        foreach (var o in listed)
        {
            var file = o.Key[prefix.Length..];
            if (file.StartsWith(LakeKeys.CompactPrefix, StringComparison.Ordinal))
            {
                if (file.EndsWith(".json", StringComparison.Ordinal)) compactManifests.Add(o);
            }
            else if (LakeKeys.ObjectIdOfStaged(o.Key) is { } id) objects[id] = o;
        }

        // The compacted rows still valid: those of objects listed with the eTag the compaction absorbed.
        var segments = new List<(string? ObjectId, ColumnBatch Batch)>();
        var fromCompact = new HashSet<string>(StringComparer.Ordinal);
        CompactManifest? compact = null;
        foreach (var m in compactManifests.OrderByDescending(m => m.Key, StringComparer.Ordinal))
        {
            compact = await ReadManifestAsync(m.Key, ct);
            if (compact is not null) break;
        }
        var reads = 0;
        if (compact is not null)
        {
            foreach (var (id, etag) in compact.Included)
                if (objects.TryGetValue(id, out var o) && o.ETag == etag) fromCompact.Add(id);
            if (fromCompact.Count > 0)
            {
                var batch = await ReadObjectAsync(Tables.Compacted(staged), compact.ParquetKey, null, ct);
                if (batch is null) fromCompact.Clear(); // deleted under us by a newer compaction: read the originals
                else
                {
                    reads++;
                    segments.Add((null, slice is null ? batch : slice.Keep(batch)));
                }
            }
        }

        // The rest, one object each, in parallel (bounded): their decode is CPU work, their GET latency on S3.
        var individual = objects.Where(p => !fromCompact.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var fetched = new ColumnBatch?[individual.Count];
        using (var gate = new SemaphoreSlim(Math.Max(1, options.ReadParallelism)))
        {
            await Task.WhenAll(individual.Select(async (p, i) =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    var batch = await ReadObjectAsync(staged, p.Value.Key, p.Value.ETag, ct);
                    // A slice keeps only its rows as soon as an object is decoded, so memory holds one slice, not the partition.
                    fetched[i] = batch is null || slice is null ? batch : slice.Keep(batch);
                }
                finally { gate.Release(); }
            }));
        }
        var readIndividually = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < individual.Count; i++)
        {
            if (fetched[i] is null) continue; // replaced or deleted between the listing and the read
            reads++;
            segments.Add((individual[i].Key, fetched[i]!));
            readIndividually[individual[i].Key] = individual[i].Value.ETag;
        }

        var result = Merge(staged, segments, fromCompact, pool);
        if (slice is null && readIndividually.Count > options.CompactAfterObjects)
            await CompactAsync(staged, partition, result, compact, fromCompact, readIndividually, objects, compactManifests, ct);
        return new StagedRows(result.Rows, result.ObjectIds, result.ObjectOfRow, reads, fromCompact.Count);
    }

    private async Task<ColumnBatch?> ReadObjectAsync(TableSchema schema, string key, string? etag, CancellationToken ct)
    {
        if (etag is not null && cache.TryGet(key, etag, out var cached)) return cached;
        try
        {
            var batch = await ParquetTable.ReadObjectAsync(store, schema, key, null, ct);
            if (etag is not null && cache.Enabled) cache.Put(key, etag, batch);
            return batch;
        }
        catch (ObjectNotFoundException) { return null; }
    }

    private async Task<CompactManifest?> ReadManifestAsync(string key, CancellationToken ct)
    {
        try
        {
            await using var s = await store.OpenReadAsync(key, ct);
            return await JsonSerializer.DeserializeAsync<CompactManifest>(s, cancellationToken: ct);
        }
        catch (ObjectNotFoundException) { return null; }
        catch (JsonException) { return null; }
    }

    private sealed record Merged(ColumnBatch Rows, string[] ObjectIds, int[] ObjectOfRow);

    /// <summary>
    /// Concatenates the segments in (object id, line) order into one batch sharing the recompute's pool. A staged object
    /// holds its rows in line order, and a compacted one in (object id, line) order, so each is a few contiguous runs:
    /// the runs are sorted (by object id, then first line) and copied whole, in time linear in the rows.
    /// </summary>
    private static Merged Merge(TableSchema staged, List<(string? ObjectId, ColumnBatch Batch)> segments, HashSet<string> fromCompact, StringPool pool)
    {
        var runs = new List<(string Id, long FirstLine, int Segment, int Start, int Count)>();
        for (var s = 0; s < segments.Count; s++)
        {
            var (objectId, batch) = segments[s];
            var lines = batch.Longs(Fields.LineNumber);
            if (batch.Count == 0) continue;
            if (objectId is not null)
            {
                AddRuns(runs, objectId, s, batch, lines, 0, batch.Count);
                continue;
            }
            var ids = batch.Strings(Fields.ObjectId);
            for (var r = 0; r < batch.Count;)
            {
                var code = ids.CodeAt(r);
                var end = r + 1;
                while (end < batch.Count && ids.CodeAt(end) == code) end++;
                var id = ids.Pool[code];
                if (fromCompact.Contains(id)) AddRuns(runs, id, s, batch, lines, r, end - r);
                r = end;
            }
        }
        runs.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.Id, b.Id);
            return c != 0 ? c : a.FirstLine.CompareTo(b.FirstLine);
        });
        var total = runs.Sum(r => r.Count);
        var rows = new ColumnBatch(staged, total, pool);
        var objectOfRow = new int[total];
        var objectIds = new List<string>();
        foreach (var run in runs)
        {
            if (objectIds.Count == 0 || objectIds[^1] != run.Id) objectIds.Add(run.Id);
            objectOfRow.AsSpan(rows.Count, run.Count).Fill(objectIds.Count - 1);
            rows.AppendRange(segments[run.Segment].Batch, run.Start, run.Count);
        }
        return new Merged(rows, [.. objectIds], objectOfRow);
    }

    /// <summary>Adds the rows [start, start+count) of one object as runs in line order (one run unless the lines go back).</summary>
    private static void AddRuns(List<(string, long, int, int, int)> runs, string id, int segment, ColumnBatch batch, LongVector lines, int start, int count)
    {
        var runStart = start;
        for (var r = start + 1; r < start + count; r++)
        {
            if (lines[r] >= lines[r - 1]) continue;
            runs.Add((id, lines[runStart], segment, runStart, r - runStart));
            runStart = r;
        }
        runs.Add((id, lines[runStart], segment, runStart, start + count - runStart));
    }

    /// <summary>Writes every row read as one compacted object (with its manifest), then removes older compactions.</summary>
    private async Task CompactAsync(TableSchema staged, string partition, Merged merged, CompactManifest? previous, HashSet<string> fromCompact,
        Dictionary<string, string> readIndividually, Dictionary<string, ObjectInfo> listed, List<ObjectInfo> oldManifests, CancellationToken ct)
    {
        var included = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in fromCompact) included[id] = previous!.Included[id];
        foreach (var (id, etag) in readIndividually) included[id] = etag;
        var schema = Tables.Compacted(staged);
        var batch = new ColumnBatch(schema, merged.Rows.Count, merged.Rows.Pool);
        batch.AppendProjected(merged.Rows, ParquetTable.AllRows(merged.Rows.Count));
        var idColumn = batch.Strings(Fields.ObjectId);
        for (var r = 0; r < batch.Count; r++) idColumn.Set(r, merged.ObjectIds[merged.ObjectOfRow[r]]);
        var manifestJson = JsonSerializer.Serialize(included.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifestJson)))[..16];
        var prefix = staged.PartitionPrefix(partition);
        var parquetKey = $"{prefix}{LakeKeys.CompactPrefix}{hash}.parquet";
        using (var ms = new MemoryStream())
        {
            await ParquetTable.WriteAsync(batch, ms, null, ct);
            ms.Position = 0;
            await store.PutAsync(parquetKey, ms, "application/vnd.apache.parquet", ct);
        }
        var manifest = new CompactManifest(parquetKey, included);
        await store.PutAsync($"{prefix}{LakeKeys.CompactPrefix}{hash}.json", new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest)), "application/json", ct);
        foreach (var old in oldManifests)
        {
            if (old.Key.EndsWith($"{hash}.json", StringComparison.Ordinal)) continue;
            await store.DeleteAsync(old.Key, ct);
            await store.DeleteAsync(old.Key[..^".json".Length] + ".parquet", ct);
        }
    }
}

/// <summary>
/// One slice of a partition: the rows whose key column hashes (FNV-1a of the normalised value, stable across processes)
/// to <see cref="Index"/> modulo <see cref="Count"/>. Strict rules are per customer (and per serial), so a slice by
/// customer is computed exactly as the whole partition would be.
/// </summary>
/// <param name="Index">This slice, 0 ≤ Index &lt; Count.</param>
/// <param name="Count">Slices of the partition.</param>
/// <param name="Key">The column whose value decides the slice.</param>
/// <param name="Normalize">The value's join form (the rules' join key), so that variants of one customer fall in one slice.</param>
public sealed record Slice(int Index, int Count, Column Key, Func<string, string> Normalize)
{
    /// <summary>Whether a value falls in this slice.</summary>
    public bool Holds(string value) => SliceOf(Normalize(value), Count) == Index;

    /// <summary>The slice (0..count-1) of a normalised value.</summary>
    public static int SliceOf(string normalized, int count)
    {
        var h = 2166136261u;
        foreach (var c in normalized) { h ^= c; h *= 16777619u; }
        return (int)(h % (uint)count);
    }

    /// <summary>A new batch with only this slice's rows of <paramref name="batch"/> (its pool is shared).</summary>
    public ColumnBatch Keep(ColumnBatch batch)
    {
        var values = batch.Strings(Key);
        var memo = new Dictionary<int, bool>();
        var rows = new List<int>();
        for (var r = 0; r < batch.Count; r++)
        {
            var code = values.CodeAt(r);
            if (!memo.TryGetValue(code, out var keep)) memo[code] = keep = code >= 0 && Holds(values.Pool[code]);
            if (keep) rows.Add(r);
        }
        var result = new ColumnBatch(batch.Schema, rows.Count, batch.Pool);
        result.Append(batch, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
        return result;
    }
}
