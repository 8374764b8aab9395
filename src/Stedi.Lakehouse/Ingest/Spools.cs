using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Ingest;

/// <summary>
/// Collects staged rows per partition with bounded memory: a partition's rows are buffered up to
/// <see cref="LakeOptions.SpillRows"/>, then written as a row group to a temporary Parquet file; the total buffered
/// across partitions is capped too.
/// </summary>
internal sealed class PartitionSpool(TableSchema table, LakeOptions options) : IDisposable
{
    private sealed class Part
    {
        public List<object?[]> Buffer = [];
        public string? TempPath;
        public FileStream? File;
        public ParquetTableWriter? Writer;
    }

    private readonly SortedDictionary<string, Part> _parts = new(StringComparer.Ordinal);
    private long _buffered;

    public async Task AddAsync(string partition, object?[] row, CancellationToken ct)
    {
        if (!_parts.TryGetValue(partition, out var part)) _parts[partition] = part = new Part();
        part.Buffer.Add(row);
        _buffered++;
        if (part.Buffer.Count >= options.SpillRows) await SpillAsync(part, ct);
        else if (_buffered >= options.SpillRows * 4L) await SpillAsync(_parts.Values.MaxBy(p => p.Buffer.Count)!, ct);
    }

    private async Task SpillAsync(Part part, CancellationToken ct)
    {
        if (part.Buffer.Count == 0) return;
        if (part.Writer is null)
        {
            part.TempPath = Path.Combine(options.TempDirectory, $"stedi-spill-{Guid.NewGuid():N}.parquet");
            part.File = new FileStream(part.TempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            part.Writer = await ParquetTableWriter.CreateAsync(table, part.File, ct);
        }
        await part.Writer.WriteRowGroupAsync(part.Buffer, 0, part.Buffer.Count, ct);
        _buffered -= part.Buffer.Count;
        part.Buffer = [];
    }

    /// <summary>Uploads one staged object per partition to <c>staged/&lt;source&gt;/&lt;column&gt;=&lt;value&gt;/&lt;objectId&gt;.parquet</c>.</summary>
    public async Task<List<(string Partition, string Key)>> UploadAsync(IObjectStore store, string objectId, CancellationToken ct)
    {
        var result = new List<(string, string)>();
        foreach (var (partition, part) in _parts)
        {
            var key = $"{table.PartitionPrefix(partition)}{objectId}.parquet";
            if (part.Writer is null)
            {
                using var ms = new MemoryStream();
                await ParquetTable.WriteAsync(table, part.Buffer, ms, ct);
                ms.Position = 0;
                await store.PutAsync(key, ms, "application/vnd.apache.parquet", ct);
            }
            else
            {
                await SpillAsync(part, ct);
                await part.Writer.DisposeAsync();
                part.Writer = null;
                part.File!.Position = 0;
                await store.PutAsync(key, part.File, "application/vnd.apache.parquet", ct);
            }
            result.Add((partition, key));
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
            _file = new FileStream(Path.Combine(tempDirectory, $"stedi-quarantine-{Guid.NewGuid():N}.jsonl"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            _writer = new StreamWriter(_file, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        }
        _writer.WriteLine(JsonSerializer.Serialize(record));
    }

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
