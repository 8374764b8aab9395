using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using Amazon.SQS;

namespace Stedi.Lakehouse.Aws;

/// <summary>Where the AWS adapters point.</summary>
/// <param name="Bucket">The lake bucket (landing, staged, trusted, curated prefixes).</param>
/// <param name="IndexTable">DynamoDB table of the consent index (string keys <c>pk</c>, <c>sk</c>).</param>
/// <param name="RefreshQueueUrl">URL of the SQS FIFO refresh queue.</param>
/// <param name="GlueDatabase">Glue database of the published tables.</param>
/// <param name="Region">AWS region, e.g. <c>us-east-1</c>.</param>
/// <param name="ServiceUrl">One endpoint for every service (moto, e.g. <c>http://127.0.0.1:5000</c>), or null for
/// the regional AWS endpoints. When set, S3 uses path-style addressing.</param>
public sealed record AwsLakeConfig(
    string Bucket, string IndexTable, string RefreshQueueUrl, string GlueDatabase,
    string Region = "us-east-1", string? ServiceUrl = null);

/// <summary>
/// The four AWS adapters of one deployment, built from an <see cref="AwsLakeConfig"/>, plus the SDK clients they use
/// (for tools such as the emulated deployment). Disposing disposes the clients.
/// </summary>
public sealed class AwsLake : IDisposable
{
    /// <summary>Credentials moto accepts (any non-empty pair): access key <c>test</c>, secret <c>test</c>.</summary>
    public static AWSCredentials EmulatorCredentials { get; } = new BasicAWSCredentials("test", "test");

    private AwsLake(AwsLakeConfig config, AWSCredentials credentials)
    {
        Config = config;
        var region = RegionEndpoint.GetBySystemName(config.Region);

        var s3Config = new AmazonS3Config { RetryMode = RequestRetryMode.Standard, MaxErrorRetry = 5 };
        var ddbConfig = new AmazonDynamoDBConfig { RetryMode = RequestRetryMode.Standard, MaxErrorRetry = 10 };
        var sqsConfig = new AmazonSQSConfig { RetryMode = RequestRetryMode.Standard, MaxErrorRetry = 5 };
        if (config.ServiceUrl is { } url)
        {
            s3Config.ServiceURL = url;
            s3Config.ForcePathStyle = true;
            s3Config.AuthenticationRegion = config.Region;
            ddbConfig.ServiceURL = url;
            ddbConfig.AuthenticationRegion = config.Region;
            sqsConfig.ServiceURL = url;
            sqsConfig.AuthenticationRegion = config.Region;
        }
        else
        {
            s3Config.RegionEndpoint = region;
            ddbConfig.RegionEndpoint = region;
            sqsConfig.RegionEndpoint = region;
        }

        S3 = new AmazonS3Client(credentials, s3Config);
        DynamoDb = new AmazonDynamoDBClient(credentials, ddbConfig);
        Sqs = new AmazonSQSClient(credentials, sqsConfig);
        Glue = AwsJsonClient.ForGlue(config.Region, credentials, config.ServiceUrl);

        ObjectStore = new S3ObjectStore(S3, config.Bucket);
        ConsentIndex = new DynamoDbConsentIndex(DynamoDb, config.IndexTable);
        WorkQueue = new SqsWorkQueue(Sqs, config.RefreshQueueUrl);
        Catalog = new GlueCatalog(Glue, config.GlueDatabase, config.Bucket);
    }

    /// <summary>Builds the adapters.</summary>
    /// <param name="config">Names and endpoint.</param>
    /// <param name="credentials">Credentials; null resolves the SDK's default chain (environment, profile, container
    /// or instance role; in Lambda the function's role). For moto pass <see cref="EmulatorCredentials"/>.</param>
    /// <exception cref="AmazonClientException">No credentials could be resolved from the default chain.</exception>
    public static AwsLake Create(AwsLakeConfig config, AWSCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new AwsLake(config, credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials());
    }

    /// <summary>The configuration the adapters were built from.</summary>
    public AwsLakeConfig Config { get; }

    /// <summary>S3 client (path-style when <see cref="AwsLakeConfig.ServiceUrl"/> is set).</summary>
    public IAmazonS3 S3 { get; }

    /// <summary>DynamoDB client (Standard retry mode, 10 retries).</summary>
    public IAmazonDynamoDB DynamoDb { get; }

    /// <summary>SQS client.</summary>
    public IAmazonSQS Sqs { get; }

    /// <summary>Glue JSON client.</summary>
    public AwsJsonClient Glue { get; }

    /// <summary>The bucket as an object store.</summary>
    public S3ObjectStore ObjectStore { get; }

    /// <summary>The consent and partition index.</summary>
    public DynamoDbConsentIndex ConsentIndex { get; }

    /// <summary>The refresh work queue.</summary>
    public SqsWorkQueue WorkQueue { get; }

    /// <summary>The Glue catalog.</summary>
    public GlueCatalog Catalog { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        S3.Dispose();
        DynamoDb.Dispose();
        Sqs.Dispose();
        Glue.Dispose();
    }
}
