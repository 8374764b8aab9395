using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using Amazon.SQS;
using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Aws;

/// <summary>Where the AWS adapters point.</summary>
/// <param name="Bucket">The lake bucket (landing, staged, trusted, curated prefixes).</param>
/// <param name="IndexTable">DynamoDB table of the consent index (string keys <c>pk</c>, <c>sk</c>).</param>
/// <param name="RefreshQueueUrl">URL of the SQS FIFO refresh queue.</param>
/// <param name="GlueDatabase">Glue database of the published tables.</param>
/// <param name="Region">AWS region, e.g. <c>us-east-1</c>.</param>
/// <param name="ServiceUrl">One endpoint for every service (moto, e.g. <c>http://127.0.0.1:5000</c>), or null for
/// the regional AWS endpoints. When set, S3 uses path-style addressing.</param>
/// <param name="CustomerKeySecretId">Name or ARN of the Secrets Manager secret whose string keys the customer-key hash
/// (<see cref="HmacCustomerKeys"/>, at least 16 characters), or null when the lake is built without one (then
/// <see cref="AwsLake.Index"/> needs keys passed to <see cref="AwsLake.Create"/>).</param>
public sealed record AwsLakeConfig(
    string Bucket, string IndexTable, string RefreshQueueUrl, string GlueDatabase,
    string Region = "us-east-1", string? ServiceUrl = null, string? CustomerKeySecretId = null);

/// <summary>
/// The AWS adapters of one deployment, built from an <see cref="AwsLakeConfig"/>, plus the SDK clients they use
/// (for tools such as the emulated deployment). Disposing disposes the clients.
/// </summary>
public sealed class AwsLake : IDisposable
{
    /// <summary>Credentials moto accepts (any non-empty pair): access key <c>test</c>, secret <c>test</c>.</summary>
    public static AWSCredentials EmulatorCredentials { get; } = new BasicAWSCredentials("test", "test");

    private readonly LakeIndex? _index;

    private AwsLake(AwsLakeConfig config, AWSCredentials credentials, ICustomerKeys? keys)
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
        Customers = new DynamoDbCustomerIndex(DynamoDb, config.IndexTable);
        Partitions = new DynamoDbPartitionIndex(DynamoDb, config.IndexTable);
        Ledger = new DynamoDbLedger(DynamoDb, config.IndexTable);
        RefineState = new DynamoDbRefineState(DynamoDb, config.IndexTable);
        if (keys is not null) _index = new LakeIndex(Customers, Partitions, Ledger, RefineState, keys);
        WorkQueue = new SqsWorkQueue(Sqs, config.RefreshQueueUrl, RefineState);
        _config = config;
    }

    /// <summary>Builds the adapters. When <see cref="AwsLakeConfig.CustomerKeySecretId"/> is set and no
    /// <paramref name="keys"/> are given, reads the secret (blocking: one Secrets Manager call, for synchronous
    /// composition such as a Lambda constructor; <see cref="CreateAsync"/> does not block).</summary>
    /// <param name="config">Names and endpoint.</param>
    /// <param name="credentials">Credentials; null resolves the SDK's default chain (environment, profile, container
    /// or instance role; in Lambda the function's role). For moto pass <see cref="EmulatorCredentials"/>.</param>
    /// <param name="keys">The customer-key hash to use instead of the configured secret (tests, tools), or null.</param>
    /// <exception cref="AmazonClientException">No credentials could be resolved from the default chain.</exception>
    /// <exception cref="AwsJsonException">Secrets Manager refused the secret (e.g. <c>ResourceNotFoundException</c>, <c>AccessDeniedException</c>).</exception>
    /// <exception cref="ArgumentException">The secret's string is shorter than 16 characters.</exception>
    public static AwsLake Create(AwsLakeConfig config, AWSCredentials? credentials = null, ICustomerKeys? keys = null) =>
        CreateAsync(config, credentials, keys).GetAwaiter().GetResult();

    /// <summary>Builds the adapters, reading the customer-key secret when <see cref="AwsLakeConfig.CustomerKeySecretId"/> is
    /// set and no <paramref name="keys"/> are given (one <c>secretsmanager:GetSecretValue</c> call).</summary>
    /// <param name="config">Names and endpoint.</param>
    /// <param name="credentials">Credentials; null resolves the SDK's default chain. For moto pass <see cref="EmulatorCredentials"/>.</param>
    /// <param name="keys">The customer-key hash to use instead of the configured secret (tests, tools), or null.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="AmazonClientException">No credentials could be resolved from the default chain.</exception>
    /// <exception cref="AwsJsonException">Secrets Manager refused the secret.</exception>
    /// <exception cref="ArgumentException">The secret's string is shorter than 16 characters.</exception>
    public static async Task<AwsLake> CreateAsync(AwsLakeConfig config, AWSCredentials? credentials = null, ICustomerKeys? keys = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        credentials ??= DefaultAWSCredentialsIdentityResolver.GetCredentials();
        if (keys is null && config.CustomerKeySecretId is { Length: > 0 } secretId)
        {
            using var secret = new SecretsManagerSecret(config.Region, credentials, config.ServiceUrl);
            keys = HmacCustomerKeys.FromText(await secret.GetStringAsync(secretId, ct).ConfigureAwait(false));
        }
        return new AwsLake(config, credentials, keys);
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


    /// <summary>Customer versions in the index table.</summary>
    public DynamoDbCustomerIndex Customers { get; }

    /// <summary>Partition membership and trusted counts in the index table.</summary>
    public DynamoDbPartitionIndex Partitions { get; }

    /// <summary>The ingest ledger in the index table.</summary>
    public DynamoDbLedger Ledger { get; }

    /// <summary>Refine outcomes and pending marks in the index table.</summary>
    public DynamoDbRefineState RefineState { get; }

    /// <summary>The index by concern, with the customer-key hash of the configured secret (or of the keys passed in).</summary>
    /// <exception cref="InvalidOperationException">No secret was configured and no keys were passed to <see cref="Create"/>.</exception>
    public LakeIndex Index => _index ?? throw new InvalidOperationException(
        "no customer-key secret: set AwsLakeConfig.CustomerKeySecretId (STEDI_CUSTOMER_KEY_SECRET_ID) or pass keys to AwsLake.Create");

    /// <summary>The refresh work queue (coalescing through <see cref="RefineState"/>).</summary>
    public SqsWorkQueue WorkQueue { get; }

    private readonly AwsLakeConfig _config;
    private GlueCatalog? _catalog;

    /// <summary>
    /// The Glue catalog of <see cref="AwsLakeConfig.GlueDatabase"/>, built on first use: the functions make no catalog
    /// call, so a function configuration without a database is complete; only the emulation's setup and the CLI use it.
    /// </summary>
    /// <exception cref="InvalidOperationException">No Glue database is configured (STEDI_GLUE_DATABASE).</exception>
    public GlueCatalog Catalog => _catalog ??= string.IsNullOrEmpty(_config.GlueDatabase)
        ? throw new InvalidOperationException("no Glue database: set AwsLakeConfig.GlueDatabase (STEDI_GLUE_DATABASE) to use the catalog")
        : new GlueCatalog(Glue, _config.GlueDatabase, _config.Bucket);

    /// <inheritdoc />
    public void Dispose()
    {
        S3.Dispose();
        DynamoDb.Dispose();
        Sqs.Dispose();
        Glue.Dispose();
    }
}
