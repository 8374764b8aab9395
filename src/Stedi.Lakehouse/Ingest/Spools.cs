using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Ingest;

/// <summary>One staged object written by an ingest.</summary>
/// <param name="Partition">Partition value.</param>
/// <param name="Key">Object key.</param>
/// <param name="Rows">Rows in the object.</param>
internal sealed record StagedObject(string Partition, string Key, long Rows);

/// <summary>
/// Collects staged rows per partition with bounded memory: a partition's rows are buffered as a typed batch up to
/// <see cref="LakeOptions.SpillRows"/>, then written as a row group to a temporary Parquet file; the rows buffered
/// across all partitions are capped at four times that. Every partition batch shares the ingest's string pool.
/// </summary>
internal sealed class PartitionSpool(TableSchema table, LakeOptions options, StringPool pool) : IDisposable
{
    private sealed class Part(TableSchema table, StringPool pool)
    {
        public ColumnBatch Buffer = new(table, 0, pool);
        public long Spilled;
        public string? TempPath;
        public FileStream? File;
        public ParquetTableWriter? Writer;
    }

    private readonly SortedDictionary<string, Part> _parts = new(StringComparer.Ordinal);
    private long _buffered;

    /// <summary>Partitions seen so far.</summary>
    public IEnumerable<string> Partitions => _parts.Keys;

    /// <summary>Appends rows of a parsed chunk to a partition.</summary>
    public async Task AddAsync(string partition, ColumnBatch chunk, ReadOnlyMemory<int> rows, CancellationToken ct)
    {
        if (!_parts.TryGetValue(partition, out var part)) _parts[partition] = part = new Part(table, pool);
        part.Buffer.Append(chunk, rows.Span);
        _buffered += rows.Length;
        if (part.Buffer.Count >= options.SpillRows) await SpillAsync(part, ct);
        else if (_buffered >= options.SpillRows * 4L) await SpillAsync(_parts.Values.MaxBy(p => p.Buffer.Count)!, ct);
    }

    private async Task SpillAsync(Part part, CancellationToken ct)
    {
        if (part.Buffer.Count == 0) return;
        if (part.Writer is null)
        {
            part.TempPath = Path.Combine(options.TempDirectory, $"stedi-spill-{Guid.NewGuid():N}.parquet");
            part.File = new FileStream(part.TempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.DeleteOnClose);
            part.Writer = await ParquetTableWriter.CreateAsync(table, part.File, ct);
        }
        await part.Writer.WriteRowGroupAsync(part.Buffer, ParquetTable.AllRows(part.Buffer.Count), ct);
        _buffered -= part.Buffer.Count;
        part.Spilled += part.Buffer.Count;
        part.Buffer = new ColumnBatch(table, 0, pool);
    }

    /// <summary>
    /// Uploads one staged object per partition to <c>staged/&lt;source&gt;/&lt;column&gt;=&lt;value&gt;/&lt;objectId&gt;.parquet</c>;
    /// offers partitions held whole in memory to the cache (so a batch run's refine does not read them back).
    /// </summary>
    public async Task<List<StagedObject>> UploadAsync(IObjectStore store, IBatchCache cache, string objectId, CancellationToken ct)
    {
        var result = new List<StagedObject>();
        foreach (var (partition, part) in _parts)
        {
            var key = LakeKeys.Staged(table, partition, objectId);
            if (part.Writer is null)
            {
                using var ms = new MemoryStream();
                await ParquetTable.WriteAsync(part.Buffer, ms, null, ct);
                ms.Position = 0;
                await store.PutAsync(key, ms, "application/vnd.apache.parquet", ct);
                if (cache.Enabled && await store.HeadAsync(key, ct) is { } head) cache.Put(key, head.ETag, part.Buffer);
                result.Add(new StagedObject(partition, key, part.Buffer.Count));
            }
            else
            {
                var rows = part.Spilled + part.Buffer.Count;
                await SpillAsync(part, ct);
                await part.Writer.DisposeAsync();
                part.Writer = null;
                part.File!.Position = 0;
                await store.PutAsync(key, part.File, "application/vnd.apache.parquet", ct);
                result.Add(new StagedObject(partition, key, rows));
            }
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var p in _parts.Values) p.File?.Dispose();
    }
}

/// <summary>Quarantine records as JSON lines in a temporary file (bounded memory).</summary>
internal sealed class QuarantineSpool(string tempDirectory) : IDisposable
{
    private FileStream? _file;
    private StreamWriter? _writer;

    public void Add(QuarantineRecord record)
    {
        if (_writer is null)
        {
            _file = new FileStream(Path.Combine(tempDirectory, $"stedi-quarantine-{Guid.NewGuid():N}.jsonl"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.DeleteOnClose);
            _writer = new StreamWriter(_file, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        }
        _writer.WriteLine(JsonSerializer.Serialize(record));
    }

    public bool IsEmpty => _writer is null;

    public async Task UploadAsync(IObjectStore store, string key, CancellationToken ct)
    {
        if (_writer is null || _file is null) return;
        await _writer.FlushAsync(ct);
        _file.Position = 0;
        await store.PutAsync(key, _file, "application/x-ndjson", ct);
    }

    public void Dispose()
    {
        _writer?.Dispose();
        _file?.Dispose();
    }
}
