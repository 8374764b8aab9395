using System.Security.Cryptography;
using System.Text;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// An <see cref="IObjectStore"/> over a local folder laid out as <c>&lt;root&gt;/&lt;bucket&gt;/&lt;key&gt;</c>
/// ('/' in a key is a folder separator). Writes go to a temporary file in the target folder and are renamed into
/// place, so readers never see a partial object and concurrent writers of one key end with the last rename.
/// </summary>
/// <remarks>
/// Unlike S3, a key cannot be both an object and a folder (<c>a</c> and <c>a/b</c>), and keys with empty,
/// <c>.</c> or <c>..</c> segments are rejected. Objects are unversioned (<see cref="ObjectInfo.VersionId"/> is null);
/// the eTag is the hex MD5 of the content, as S3's for single-part uploads.
/// </remarks>
public sealed class FolderObjectStore : IObjectStore
{
    /// <summary>File-name prefix of in-flight writes; never listed, and not allowed as a key segment prefix.</summary>
    internal const string TempPrefix = ".stedi-tmp-";

    /// <summary>Creates the store, creating <c>&lt;root&gt;/&lt;bucket&gt;</c> when missing.</summary>
    /// <param name="root">Folder holding one sub-folder per bucket.</param>
    /// <param name="bucket">Bucket name (one path segment).</param>
    /// <exception cref="ArgumentException">Empty root, or a bucket name that is not a single path segment.</exception>
    public FolderObjectStore(string root, string bucket)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        if (bucket.Contains('/') || bucket.Contains('\\') || bucket is "." or "..")
            throw new ArgumentException($"bucket '{bucket}' must be a single path segment", nameof(bucket));
        Bucket = bucket;
        BucketFolder = Path.GetFullPath(Path.Combine(root, bucket));
        Directory.CreateDirectory(BucketFolder);
    }

    /// <inheritdoc />
    public string Bucket { get; }

    /// <summary>Absolute path of the bucket's folder; an object's file is this folder plus its key.</summary>
    public string BucketFolder { get; }

    /// <summary>The absolute file path of a key (whether or not the object exists).</summary>
    /// <exception cref="ArgumentException">The key is empty or has an empty, <c>.</c>, <c>..</c> or temp-file segment.</exception>
    public string PathOf(string key)
    {
        ValidateKey(key);
        return Path.Combine(BucketFolder, key);
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        FileStream stream;
        try
        {
            stream = OpenFile(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        await using (stream)
        {
            return new ObjectInfo(key, stream.Length, ETagOf(path, stream));
        }
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        try
        {
            return Task.FromResult<Stream>(OpenFile(path));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(key);
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Invalid key (see <see cref="PathOf"/>).</exception>
    public async Task PutAsync(string key, Stream content, string contentType, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = PathOf(key);
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $"{TempPrefix}{Guid.NewGuid():N}.tmp");
        try
        {
            string etag;
            // Synchronous file I/O: on Linux asynchronous file writes are queued to the thread pool, which costs more than
            // the local disk write itself. Hash while copying, so Head and List need not read the object again.
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.None))
            using (var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5))
            {
                if (content is MemoryStream ms && ms.TryGetBuffer(out var whole))
                {
                    var rest = whole.AsSpan((int)ms.Position);
                    md5.AppendData(rest);
                    file.Write(rest);
                    ms.Position = ms.Length;
                }
                else
                {
                    var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
                    try
                    {
                        int n;
                        while ((n = await content.ReadAsync(buffer.AsMemory(0, 1 << 16), ct).ConfigureAwait(false)) > 0)
                        {
                            md5.AppendData(buffer, 0, n);
                            file.Write(buffer, 0, n);
                        }
                    }
                    finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
                }
                etag = Convert.ToHexStringLower(md5.GetHashAndReset());
            }
            var written = new FileInfo(temp);
            var stamp = (written.Length, written.LastWriteTimeUtc.Ticks);
            File.Move(temp, path, overwrite: true);
            _etags[path] = (stamp, etag);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // Enumerate only the deepest folder the prefix fully names, then filter by the whole prefix.
        var slash = prefix.LastIndexOf('/');
        var folderPart = slash < 0 ? "" : prefix[..slash];
        if (folderPart.Split('/').Any(s => s is ".." or "."))
            throw new ArgumentException($"prefix '{prefix}' has a '.' or '..' segment", nameof(prefix));
        var start = folderPart.Length == 0 ? BucketFolder : Path.Combine(BucketFolder, folderPart);
        var result = new List<ObjectInfo>();
        if (Directory.Exists(start))
        {
            foreach (var path in FilesUnder(start, ignoreInaccessible: true))
            {
                ct.ThrowIfCancellationRequested();
                if (Path.GetFileName(path).StartsWith(TempPrefix, StringComparison.Ordinal)) continue;
                var key = Path.GetRelativePath(BucketFolder, path).Replace(Path.DirectorySeparatorChar, '/');
                if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var info = Head(path, key);
                if (info is not null) result.Add(info);
            }
        }
        result.Sort((a, b) => Utf8Compare(a.Key, b.Key));
        return Task.FromResult<IReadOnlyList<ObjectInfo>>(result);
    }

    /// <summary>
    /// The files below a folder, subfolders included (full paths, in no particular order), except what lies behind a
    /// symbolic link to a folder: a link back up (<c>landing/loop -> ..</c>) made every walk fail with "too many levels of
    /// symbolic links". A symbolic link to a file is listed, and read as the file (as <c>cp -L</c> copies it). The folder
    /// itself may be a link.
    /// </summary>
    /// <param name="folder">The folder to walk.</param>
    /// <param name="ignoreInaccessible">Skip what cannot be read (a listing) rather than throw (a copy that must not miss a file).</param>
    public static IEnumerable<string> FilesUnder(string folder, bool ignoreInaccessible = false) =>
        new System.IO.Enumeration.FileSystemEnumerable<string>(folder, (ref System.IO.Enumeration.FileSystemEntry e) => e.ToFullPath(),
            new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = ignoreInaccessible, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => !e.IsDirectory,
            ShouldRecursePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) == 0,
        };

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Deleting a missing object is not an error.
        }
        return Task.CompletedTask;
    }

    /// <summary>eTags by path, valid while the file's (length, last write time) is unchanged; files dropped in by hand are hashed once.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ((long, long) Stamp, string ETag)> _etags = new();

    private string ETagOf(string path, FileStream stream)
    {
        var info = new FileInfo(path);
        var stamp = (info.Length, info.LastWriteTimeUtc.Ticks);
        if (_etags.TryGetValue(path, out var cached) && cached.Stamp == stamp) return cached.ETag;
        var etag = Convert.ToHexStringLower(MD5.HashData(stream));
        _etags[path] = (stamp, etag);
        return etag;
    }

    private ObjectInfo? Head(string path, string key)
    {
        try
        {
            using var stream = OpenFile(path);
            return new ObjectInfo(key, stream.Length, ETagOf(path, stream));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // deleted between enumeration and open
        }
    }

    private static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void ValidateKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Contains('\0')) throw new ArgumentException("key contains NUL", nameof(key));
        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
                throw new ArgumentException($"key '{key}' has an empty, '.' or '..' segment", nameof(key));
            if (segment.StartsWith(TempPrefix, StringComparison.Ordinal))
                throw new ArgumentException($"key '{key}' has a segment starting with the reserved '{TempPrefix}'", nameof(key));
        }
    }

    /// <summary>S3 lists keys in UTF-8 byte order, which differs from UTF-16 ordinal order for surrogate pairs.</summary>
    internal static int Utf8Compare(string a, string b)
    {
        var max = Math.Max(Encoding.UTF8.GetMaxByteCount(a.Length), Encoding.UTF8.GetMaxByteCount(b.Length));
        if (max > 1024) return Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));
        Span<byte> x = stackalloc byte[Encoding.UTF8.GetMaxByteCount(a.Length)];
        Span<byte> y = stackalloc byte[Encoding.UTF8.GetMaxByteCount(b.Length)];
        var nx = Encoding.UTF8.GetBytes(a, x);
        var ny = Encoding.UTF8.GetBytes(b, y);
        return x[..nx].SequenceCompareTo(y[..ny]);
    }
}
