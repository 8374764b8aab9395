using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cli;

/// <summary>
/// The published tables of a lake bucket — an emulated deployment's on moto, or a deployed one on AWS — copied into a
/// temporary folder laid out like a local lake (<c>stedi-lake/&lt;key&gt;</c> and a catalog), so that <c>stedi query</c>
/// runs DuckDB over them exactly as over a local lake. Only the objects of the tables the SQL names are copied (and the
/// quarantine when it names <c>quarantine</c>); the other views exist, empty. The profile (which columns an empty view
/// has) is the bucket's <c>lake.json</c>, strict when it has none. The folder is deleted on dispose.
/// </summary>
internal sealed class BucketCopy : IDisposable
{
    private readonly string _root;

    private BucketCopy(string root, JsonCatalog catalog, ConsentProfile profile, int objects) =>
        (_root, Catalog, Profile, Objects) = (root, catalog, profile, objects);

    /// <summary>The catalog of the copy (its data root is the copied bucket).</summary>
    public JsonCatalog Catalog { get; }

    /// <summary>The bucket's profile.</summary>
    public ConsentProfile Profile { get; }

    /// <summary>Objects copied.</summary>
    public int Objects { get; }

    /// <summary>Copies what <paramref name="sql"/> needs from <paramref name="bucket"/>.</summary>
    /// <param name="bucket">The lake bucket.</param>
    /// <param name="endpoint">The emulator's URL (moto; path-style, credentials <c>test</c>/<c>test</c> unless
    /// <c>AWS_ACCESS_KEY_ID</c> is set), or null for AWS (the default credential chain, <c>AWS_REGION</c> or
    /// <c>AWS_DEFAULT_REGION</c>, else us-east-1).</param>
    /// <param name="sql">The SQL to run: the tables it names are copied.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="UsageException">Nothing answers at the endpoint, the bucket does not exist, no credentials, or access is denied.</exception>
    public static async Task<BucketCopy> DownloadAsync(string bucket, string? endpoint, string sql, CancellationToken ct)
    {
        var where = endpoint ?? "AWS";
        var root = Directory.CreateTempSubdirectory("stedi-query-").FullName;
        try
        {
            using var s3 = Client(endpoint);
            var store = new S3ObjectStore(s3, bucket);
            var profile = ConsentProfile.Strict;
            try
            {
                if (await LakeBucketProfile.ReadAsync(s3, bucket, ct) is { } recorded) profile = recorded.ConsentProfile;
            }
            catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.Forbidden && e.ErrorCode != "NoSuchBucket") { } // a reader may not read lake.json: strict's columns for empty views
            var bucketFolder = Path.Combine(root, LocalLake.BucketName);
            var catalog = new JsonCatalog(Path.Combine(root, "catalog"), bucketFolder);
            var prefixes = new List<string>();
            foreach (var t in Tables.Published(profile))
            {
                await catalog.EnsureTableAsync(t, ct);
                if (Names(sql, t.Name)) prefixes.Add(t.Prefix);
            }
            if (Names(sql, DuckDbQueryEngine.QuarantineView)) prefixes.Add("quarantine/");
            var objects = 0;
            foreach (var prefix in prefixes)
            {
                var listed = (await store.ListAsync(prefix, ct)).Where(o => o.Key.EndsWith(".parquet", StringComparison.Ordinal) || o.Key.EndsWith(".jsonl", StringComparison.Ordinal)).ToList();
                await Parallel.ForEachAsync(listed, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (o, token) =>
                {
                    var path = Path.Combine(bucketFolder, o.Key);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await using var body = await store.OpenReadAsync(o.Key, token);
                    await using var file = File.Create(path);
                    await body.CopyToAsync(file, token);
                });
                objects += listed.Count;
            }
            return new BucketCopy(root, catalog, profile, objects);
        }
        catch (Exception e)
        {
            Directory.Delete(root, recursive: true);
            throw e switch
            {
                AmazonS3Exception { ErrorCode: "NoSuchBucket" } =>
                    new UsageException($"no bucket {bucket} at {where}: pass the lake bucket's name (stedi emulate --serve prints it; on AWS it is the Storage stack's LakeBucketName output)"),
                AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } s =>
                    new UsageException($"access denied to s3://{bucket} at {where} ({s.ErrorCode}): the caller needs s3:ListBucket and s3:GetObject on the tables it queries"),
                HttpRequestException or AmazonServiceException { InnerException: HttpRequestException } =>
                    new UsageException($"nothing answers at {where} ({(e.InnerException ?? e).Message}): start an emulated deployment with stedi emulate --serve, which prints its endpoint and bucket"),
                AmazonClientException c when endpoint is null =>
                    new UsageException($"no AWS credentials ({c.Message}): configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or pass --endpoint URL for an emulator"),
                _ => e,
            };
        }
    }

    /// <summary>Whether the SQL names a table (a case-insensitive match of the name as a word).</summary>
    internal static bool Names(string sql, string table) =>
        System.Text.RegularExpressions.Regex.IsMatch(sql, $@"(?<![A-Za-z0-9_]){table}(?![A-Za-z0-9_])", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    private static AmazonS3Client Client(string? endpoint)
    {
        var region = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } r ? r
            : Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") is { Length: > 0 } d ? d : "us-east-1";
        var config = new AmazonS3Config { RetryMode = RequestRetryMode.Standard, MaxErrorRetry = 2 };
        AWSCredentials credentials;
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region;
            // moto accepts any credentials; those in the environment win (an S3-compatible store that checks them).
            credentials = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"))
                ? AwsLake.EmulatorCredentials
                : DefaultAWSCredentialsIdentityResolver.GetCredentials();
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
            credentials = DefaultAWSCredentialsIdentityResolver.GetCredentials();
        }
        return new AmazonS3Client(credentials, config);
    }

    /// <summary>Deletes the temporary folder.</summary>
    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
