using Stedi.Lakehouse.Reading;
using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// <see cref="IObjectStore"/> over one S3 bucket (AWSSDK.S3). Reads stream straight from the GetObject response;
/// writes of seekable streams larger than <see cref="MultipartThreshold"/> and of non-seekable streams larger than
/// one part go through multipart upload.
/// </summary>
/// <remarks>
/// S3 API reference: GetObject, HeadObject, PutObject, ListObjectsV2, DeleteObject, CreateMultipartUpload
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/). S3 has been strongly consistent for reads after writes and
/// for lists since December 2020, which the port requires.
/// </remarks>
public sealed class S3ObjectStore : IObjectStore
{
    /// <summary>Size in bytes above which a seekable stream is uploaded with multipart upload: 64 MiB.</summary>
    public const long MultipartThreshold = 64L * 1024 * 1024;

    /// <summary>Part size in bytes of multipart uploads: 16 MiB (S3 allows 10,000 parts, so up to 160 GiB).</summary>
    public const int PartSize = 16 * 1024 * 1024;

    private readonly IAmazonS3 _s3;

    /// <summary>Creates the store over <paramref name="bucket"/> with a caller-owned client.</summary>
    /// <param name="s3">S3 client; for moto use <c>ServiceURL</c> and <c>ForcePathStyle = true</c>.</param>
    /// <param name="bucket">Bucket name (must exist).</param>
    public S3ObjectStore(IAmazonS3 s3, string bucket)
    {
        ArgumentNullException.ThrowIfNull(s3);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        _s3 = s3;
        Bucket = bucket;
    }

    /// <inheritdoc />
    public string Bucket { get; }

    /// <inheritdoc />
    /// <remarks>HeadObject; a 404 (no such key) gives null. An S3 version id of <c>"null"</c> (unversioned object
    /// in a bucket with versioning suspended) is reported as null so callers fall back to the eTag.</remarks>
    /// <exception cref="AmazonS3Exception">Any other S3 error (403, 5xx after the SDK's retries).</exception>
    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default)
    {
        try
        {
            var r = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, ct).ConfigureAwait(false);
            return new ObjectInfo(key, r.ContentLength, TrimETag(r.ETag), NormaliseVersion(r.VersionId));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <inheritdoc />
    /// <remarks>The returned stream is the GetObject response body; disposing it disposes the response (and returns
    /// the connection to the pool). It is forward-only and not seekable.</remarks>
    /// <exception cref="ObjectNotFoundException">S3 answered NoSuchKey (404).</exception>
    /// <exception cref="AmazonS3Exception">Any other S3 error.</exception>
    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default) => OpenReadAsync(key, null, ct);

    /// <inheritdoc />
    /// <remarks>GetObject with <c>VersionId</c> when <paramref name="versionId"/> is given (S3 API reference, GetObject:
    /// "VersionId — Version ID used to reference a specific version of the object"); the caller needs
    /// <c>s3:GetObjectVersion</c> for it. The returned stream is the response body, forward-only, disposing the response.</remarks>
    /// <exception cref="ObjectNotFoundException">S3 answered NoSuchKey or NoSuchVersion (404).</exception>
    /// <exception cref="AmazonS3Exception">Any other S3 error (a malformed version id is a 400 InvalidArgument).</exception>
    public async Task<Stream> OpenReadAsync(string key, string? versionId, CancellationToken ct = default)
    {
        GetObjectResponse r;
        try
        {
            var request = new GetObjectRequest { BucketName = Bucket, Key = key };
            if (!string.IsNullOrEmpty(versionId)) request.VersionId = versionId;
            r = await _s3.GetObjectAsync(request, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "NoSuchKey" or "NoSuchVersion" || e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(key);
        }
        return new ResponseStream(r);
    }

    /// <inheritdoc />
    /// <remarks>The stream is read from its current position to its end and is not closed.</remarks>
    /// <exception cref="AmazonS3Exception">S3 rejected the write.</exception>
    public async Task PutAsync(string key, Stream content, string contentType, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.CanSeek)
        {
            if (content.Length - content.Position > MultipartThreshold)
            {
                using var transfer = new TransferUtility(_s3);
                await transfer.UploadAsync(new TransferUtilityUploadRequest
                {
                    BucketName = Bucket, Key = key, InputStream = content, ContentType = contentType,
                    AutoCloseStream = false, PartSize = PartSize,
                }, ct).ConfigureAwait(false);
                return;
            }
            await PutSingleAsync(key, content, contentType, ct).ConfigureAwait(false);
            return;
        }

        // Non-seekable: S3 needs a length per request, so buffer one part; a stream that fits in it is one PutObject.
        var first = new byte[PartSize];
        var n = await content.ReadAtLeastAsync(first, PartSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        if (n < PartSize)
        {
            using var ms = new MemoryStream(first, 0, n, writable: false);
            await PutSingleAsync(key, ms, contentType, ct).ConfigureAwait(false);
            return;
        }
        await PutMultipartAsync(key, content, contentType, first, ct).ConfigureAwait(false);
    }

    private Task PutSingleAsync(string key, Stream content, string contentType, CancellationToken ct) =>
        _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = Bucket, Key = key, InputStream = content, ContentType = contentType, AutoCloseStream = false,
        }, ct);

    private async Task PutMultipartAsync(string key, Stream content, string contentType, byte[] first, CancellationToken ct)
    {
        var init = await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = Bucket, Key = key, ContentType = contentType,
        }, ct).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            var buffer = first;
            var length = first.Length;
            for (var partNumber = 1; length > 0; partNumber++)
            {
                using (var ms = new MemoryStream(buffer, 0, length, writable: false))
                {
                    var up = await _s3.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = Bucket, Key = key, UploadId = init.UploadId, PartNumber = partNumber,
                        InputStream = ms, PartSize = length,
                    }, ct).ConfigureAwait(false);
                    parts.Add(new PartETag(partNumber, up.ETag));
                }
                length = await content.ReadAtLeastAsync(buffer, PartSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            }
            await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket, Key = key, UploadId = init.UploadId, PartETags = parts,
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = Bucket, Key = key, UploadId = init.UploadId,
            }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>ListObjectsV2, following continuation tokens (1,000 keys a page). S3 returns keys in UTF-8 binary
    /// order, which the result keeps. Version ids are not listed (null).</remarks>
    /// <exception cref="AmazonS3Exception">S3 rejected the list.</exception>
    public async Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, CancellationToken ct = default)
    {
        var result = new List<ObjectInfo>();
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix };
        while (true)
        {
            var page = await _s3.ListObjectsV2Async(request, ct).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
                result.Add(new ObjectInfo(o.Key, o.Size ?? 0, TrimETag(o.ETag)));
            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken)) break;
            request.ContinuationToken = page.NextContinuationToken;
        }
        return result;
    }

    /// <inheritdoc />
    /// <remarks>DeleteObject; S3 answers 204 for a missing key, so that is not an error.</remarks>
    /// <exception cref="AmazonS3Exception">S3 rejected the delete.</exception>
    public async Task DeleteAsync(string key, CancellationToken ct = default)
    {
        try
        {
            await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode == "NoSuchKey")
        {
        }
    }

    internal static string TrimETag(string? etag) => (etag ?? "").Trim('"');

    private static string? NormaliseVersion(string? v) => string.IsNullOrEmpty(v) || v == "null" ? null : v;

    /// <summary>The response body; disposing it disposes the GetObject response.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : ForwardOnlyReadStream
    {
        private readonly Stream _inner = response.ResponseStream;
        public override long Length => response.ContentLength;
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => _inner.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
