using System.Globalization;
using System.Net;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Aws;

/// <summary>What a lake bucket records about itself in <see cref="LakeBucketProfile.Key"/>: the profile its tables are built with.</summary>
/// <param name="Profile">The profile, lower case (<c>strict</c> or <c>rubric</c>).</param>
/// <param name="SchemaVersion">The lake layout version.</param>
/// <param name="CreatedAt">When the first writer recorded it (UTC).</param>
/// <param name="CreatedBy">Who recorded it (e.g. <c>stedi-dev-Refine</c>), or null.</param>
public sealed record BucketLakeMetadata(string Profile, int SchemaVersion, DateTime CreatedAt, string? CreatedBy)
{
    /// <summary>The recorded profile.</summary>
    /// <exception cref="InvalidDataException">It names a profile this build does not know.</exception>
    public ConsentProfile ConsentProfile => Enum.TryParse<ConsentProfile>(Profile, true, out var p) && Enum.IsDefined(p) && char.IsLetter(Profile[0])
        ? p
        : throw new InvalidDataException($"{LakeBucketProfile.Key} names an unknown profile '{Profile}' (expected strict or rubric)");
}

/// <summary>
/// The bucket twin of a local lake's <c>lake.json</c>: the tables of one lake bucket are built with one profile, so the
/// first function that writes to the bucket records its profile (<c>STEDI_PROFILE</c>) in <see cref="Key"/> at the
/// bucket root, and a function whose environment names another profile refuses to write (<see cref="EnsureAsync"/>
/// throws before anything is written). The record is created with a conditional PutObject (<c>If-None-Match: *</c>,
/// S3's create-if-absent: of two first writers exactly one succeeds, the other gets 412 and reads the winner's). An
/// endpoint that ignored the condition would let the later writer overwrite, so the record is read back after the
/// write and compared: a writer never goes on unless the bucket records its own profile.
/// </summary>
/// <remarks>One instance per function instance: a successful check is remembered (one GET per Lambda container); a
/// refusal is not, so a corrected deployment is not held back by a stale answer.
/// S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html.</remarks>
public sealed class LakeBucketProfile
{
    /// <summary>The key of the record, at the bucket root.</summary>
    public const string Key = LakeKeys.LakeProfile;

    /// <summary>The lake layout version this build writes (as a local lake's).</summary>
    public const int CurrentSchemaVersion = 1;

    private readonly IAmazonS3 _s3;
    private readonly string? _createdBy;
    private volatile BucketLakeMetadata? _verified;

    /// <summary>Creates the check for one bucket and the profile of this function.</summary>
    /// <param name="s3">S3 client.</param>
    /// <param name="bucket">The lake bucket.</param>
    /// <param name="profile">The profile this function refines with (<c>STEDI_PROFILE</c>).</param>
    /// <param name="createdBy">Recorded as the creator when this instance creates the record (e.g. the function name).</param>
    public LakeBucketProfile(IAmazonS3 s3, string bucket, ConsentProfile profile, string? createdBy = null)
    {
        ArgumentNullException.ThrowIfNull(s3);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        (_s3, Bucket, Profile, _createdBy) = (s3, bucket, profile, createdBy);
    }

    /// <summary>The bucket.</summary>
    public string Bucket { get; }

    /// <summary>The profile this function writes with.</summary>
    public ConsentProfile Profile { get; }

    /// <summary>
    /// Checks that this function may write to the bucket: the bucket records <see cref="Profile"/>, or records nothing yet
    /// and this call records it. Call before the first write of every invocation (cheap after the first success).
    /// </summary>
    /// <returns>The bucket's record.</returns>
    /// <exception cref="BucketProfileMismatchException">The bucket records another profile: write nothing.</exception>
    /// <exception cref="InvalidDataException">The record is not valid, or has a layout version this build does not write.</exception>
    /// <exception cref="AmazonS3Exception">S3 refused a call (e.g. AccessDenied: the role needs s3:ListBucket, and s3:GetObject and s3:PutObject on lake.json).</exception>
    public async Task<BucketLakeMetadata> EnsureAsync(CancellationToken ct = default)
    {
        if (_verified is { } known) return known;
        var recorded = await ReadAsync(_s3, Bucket, ct).ConfigureAwait(false);
        for (var attempt = 1; recorded is null; attempt++)
        {
            if (attempt > 5) throw new InvalidOperationException($"s3://{Bucket}/{Key} could not be created or read back after 5 attempts");
            var mine = new BucketLakeMetadata(ProfileName(Profile), CurrentSchemaVersion, DateTime.UtcNow, _createdBy);
            try
            {
                await _s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = Bucket, Key = Key, ContentType = "application/json", IfNoneMatch = "*",
                    InputStream = new MemoryStream(ToJson(mine)),
                }, ct).ConfigureAwait(false);
            }
            // 412: another writer created it first. 409: a conditional write of the same key was in flight; read, then retry if still absent.
            catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict && attempt < 5)
            {
                if (e.StatusCode == HttpStatusCode.Conflict) await Task.Delay(100 * attempt, ct).ConfigureAwait(false);
            }
            // Read back: what the bucket records now is the lake's profile, whoever wrote it.
            recorded = await ReadAsync(_s3, Bucket, ct).ConfigureAwait(false);
        }
        if (recorded.SchemaVersion != CurrentSchemaVersion)
            throw new InvalidDataException($"lake bucket {Bucket} has layout version {recorded.SchemaVersion} (s3://{Bucket}/{Key}); this build writes version " +
                                           $"{CurrentSchemaVersion}. Deploy the build that made it, or rebuild the lake in a new bucket.");
        if (recorded.ConsentProfile != Profile) throw new BucketProfileMismatchException(Bucket, recorded, Profile);
        _verified = recorded;
        return recorded;
    }

    /// <summary>
    /// The bucket's record, or null when it has none (nothing has been written with a profile check yet). Whether it
    /// exists is decided by listing its key, never by a GET error: S3 answers a GET of a missing key with 403 to a caller
    /// that may not list the bucket, and absence is never read from an error (as everywhere in the functions).
    /// </summary>
    /// <exception cref="InvalidDataException">The object is not a valid record.</exception>
    /// <exception cref="AmazonS3Exception">S3 refused the LIST or the GET (e.g. NoSuchBucket, AccessDenied).</exception>
    public static async Task<BucketLakeMetadata?> ReadAsync(IAmazonS3 s3, string bucket, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(s3);
        // "lake.json" sorts before every other key it prefixes, so one key is enough.
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = Key, MaxKeys = 1 }, ct).ConfigureAwait(false);
        if (!(listed.S3Objects ?? []).Any(o => o.Key == Key)) return null;
        using var r = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = Key }, ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await r.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return Parse(buffer.ToArray(), $"s3://{bucket}/{Key}");
    }

    /// <summary>The record as written: the same JSON fields as a local lake's <c>lake.json</c>.</summary>
    public static byte[] ToJson(BucketLakeMetadata m)
    {
        ArgumentNullException.ThrowIfNull(m);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("profile", m.Profile);
            w.WriteNumber("schema_version", m.SchemaVersion);
            w.WriteString("created_at", m.CreatedAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
            if (m.CreatedBy is null) w.WriteNull("created_by"); else w.WriteString("created_by", m.CreatedBy);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a record.</summary>
    /// <exception cref="InvalidDataException">Not a valid record (<paramref name="where"/> names it in the message).</exception>
    public static BucketLakeMetadata Parse(byte[] json, string where)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("profile", out var p) && p.ValueKind == JsonValueKind.String && p.GetString() is { Length: > 0 } profile
                && root.TryGetProperty("schema_version", out var v) && v.TryGetInt32(out var version) && version >= 1)
            {
                var created = root.TryGetProperty("created_at", out var c) && c.ValueKind == JsonValueKind.String && c.TryGetDateTime(out var at) ? at.ToUniversalTime() : default;
                var by = root.TryGetProperty("created_by", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
                var m = new BucketLakeMetadata(profile, version, created, by);
                _ = m.ConsentProfile;
                return m;
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where} is not valid lake metadata: {e.Message}", e);
        }
        throw new InvalidDataException($"{where} is not valid lake metadata (it needs \"profile\" and \"schema_version\")");
    }

    /// <summary>The lower-case name of a profile as recorded.</summary>
    public static string ProfileName(ConsentProfile profile) => profile.ToString().ToLowerInvariant();
}

/// <summary>A function's <c>STEDI_PROFILE</c> is not the profile its lake bucket records: it must write nothing.</summary>
public sealed class BucketProfileMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BucketProfileMismatchException(string bucket, BucketLakeMetadata recorded, ConsentProfile requested)
        : base($"lake bucket {bucket} was built with profile {recorded.Profile} (s3://{bucket}/{LakeBucketProfile.Key}" +
               (recorded.CreatedBy is null ? "" : $", recorded by {recorded.CreatedBy}") + $"); this function has STEDI_PROFILE={LakeBucketProfile.ProfileName(requested)}, " +
               $"which would mix the two profiles' rules in its tables, so it writes nothing. Deploy it with STEDI_PROFILE={recorded.Profile}, or point it at a lake bucket built with {LakeBucketProfile.ProfileName(requested)}")
    {
        Bucket = bucket;
        Recorded = recorded.ConsentProfile;
        Requested = requested;
    }

    /// <summary>The bucket.</summary>
    public string Bucket { get; }
    /// <summary>The profile the bucket records.</summary>
    public ConsentProfile Recorded { get; }
    /// <summary>The profile of the function.</summary>
    public ConsentProfile Requested { get; }
}
