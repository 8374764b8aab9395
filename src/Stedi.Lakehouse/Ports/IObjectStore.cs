namespace Stedi.Lakehouse.Ports;

/// <summary>Metadata of one stored object.</summary>
/// <param name="Key">Object key (decoded, UTF-8), e.g. <c>customer/landing/customer-1.json</c>.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="ETag">Entity tag (content hash) without quotes.</param>
/// <param name="VersionId">Version id where the store versions objects, else null.</param>
public sealed record ObjectInfo(string Key, long Size, string ETag, string? VersionId = null);

/// <summary>
/// One bucket of an object store (S3 in production, a folder laid out as <c>&lt;bucket&gt;/&lt;key&gt;</c> locally).
/// Reads and lists are strongly consistent (as S3 has been since December 2020).
/// </summary>
public interface IObjectStore
{
    /// <summary>The bucket name.</summary>
    string Bucket { get; }

    /// <summary>Metadata of an object, or null when it does not exist.</summary>
    Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default);

    /// <summary>Opens an object for a forward-only streaming read.</summary>
    /// <exception cref="ObjectNotFoundException">The object does not exist.</exception>
    Task<Stream> OpenReadAsync(string key, CancellationToken ct = default);

    /// <summary>
    /// Opens one version of an object for a forward-only streaming read: the version <paramref name="versionId"/> that a
    /// HEAD returned (so that what is read is what was looked at), or the current one when null or unversioned.
    /// </summary>
    /// <exception cref="ObjectNotFoundException">The object (or that version) does not exist.</exception>
    Task<Stream> OpenReadAsync(string key, string? versionId, CancellationToken ct = default) => OpenReadAsync(key, ct);

    /// <summary>Writes (creates or replaces) an object from a stream read to its end.</summary>
    Task PutAsync(string key, Stream content, string contentType, CancellationToken ct = default);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, in key order.</summary>
    Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, CancellationToken ct = default);

    /// <summary>Deletes an object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken ct = default);
}

/// <summary>Thrown by <see cref="IObjectStore.OpenReadAsync(string, System.Threading.CancellationToken)"/> when the key does not exist (S3 NoSuchKey).</summary>
public sealed class ObjectNotFoundException(string key) : Exception($"object not found: {key}")
{
    /// <summary>The missing key.</summary>
    public string Key { get; } = key;
}
