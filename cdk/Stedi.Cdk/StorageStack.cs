using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.SQS;
using Constructs;

namespace Stedi.Cdk;

/// <summary>
/// The stateful half of the lakehouse: the lake bucket (every zone as a prefix), its access-log bucket, the landing
/// queues that receive its S3 event notifications, the FIFO refresh queue and the DynamoDB index table. Queues live
/// here, next to the bucket, because the bucket's notification configuration and the queues' policies name each
/// other: in one template that is a plain DependsOn, across stacks it would be a cycle.
/// </summary>
public sealed class StorageStack : Stack
{
    /// <summary>Function timeout the queues are sized for; <see cref="IngestionStack"/> uses the same value.</summary>
    public static readonly Duration FunctionTimeout = Duration.Minutes(5);

    /// <summary>Deliveries before a message moves to its DLQ.</summary>
    public const int MaxReceiveCount = 5;

    /// <summary>Days quarantined records are kept (they hold raw landing records of possibly non-consenting customers).</summary>
    public const int QuarantineExpirationDays = 90;

    /// <summary>Days a replaced staged object version is kept.</summary>
    public const int StagedNoncurrentExpirationDays = 7;

    /// <summary>The lake bucket: landing, staged, trusted, curated, quarantine and manifests prefixes.</summary>
    public Bucket LakeBucket { get; }

    /// <summary>Server access log bucket of the lake and results buckets.</summary>
    public Bucket AccessLogBucket { get; }

    /// <summary>Landing queue per source (<c>customer</c>, <c>accelerometer</c>, <c>step_trainer</c>).</summary>
    public IReadOnlyDictionary<string, Queue> LandingQueues { get; }

    /// <summary>DLQ per landing queue, by source.</summary>
    public IReadOnlyDictionary<string, Queue> LandingDeadLetterQueues { get; }

    /// <summary>FIFO queue of partition refresh work (message group = table + partition).</summary>
    public Queue RefreshQueue { get; }

    /// <summary>FIFO DLQ of the refresh queue.</summary>
    public Queue RefreshDeadLetterQueue { get; }

    /// <summary>Consent and partition index (pk/sk).</summary>
    public Table IndexTable { get; }

    /// <summary>Creates the stack.</summary>
    public StorageStack(Construct scope, string id, StediConfig config, IStackProps? props = null) : base(scope, id, props)
    {
        var removal = config.IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

        AccessLogBucket = new Bucket(this, "AccessLogs", new BucketProps
        {
            // Server access log delivery supports SSE-S3 only on the target bucket.
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            LifecycleRules = [new LifecycleRule { Id = "expire-access-logs", Expiration = Duration.Days(365) }],
            RemovalPolicy = removal,
        });

        var visibility = Duration.Seconds(FunctionTimeout.ToSeconds() * 6);
        var landing = new Dictionary<string, Queue>();
        var landingDlq = new Dictionary<string, Queue>();
        var lakeBucketArn = $"arn:{Aws.PARTITION}:s3:::{config.LakeBucket}";
        foreach (var source in StediConfig.Sources)
        {
            var dlq = new Queue(this, $"{Pascal(source)}LandingDlq", new QueueProps
            {
                Encryption = QueueEncryption.SQS_MANAGED,
                EnforceSSL = true,
                RetentionPeriod = Duration.Days(14),
            });
            var queue = new Queue(this, $"{Pascal(source)}LandingQueue", new QueueProps
            {
                // S3 can deliver to SSE-SQS queues; a customer-managed KMS key would also need a key policy for S3.
                Encryption = QueueEncryption.SQS_MANAGED,
                EnforceSSL = true,
                VisibilityTimeout = visibility,
                RetentionPeriod = Duration.Days(4),
                DeadLetterQueue = new DeadLetterQueue { Queue = dlq, MaxReceiveCount = MaxReceiveCount },
            });
            // Name the bucket by its (deterministic) ARN, not by a Ref: the bucket depends on this policy.
            queue.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "AllowS3EventNotifications",
                Principals = [new ServicePrincipal("s3.amazonaws.com")],
                Actions = ["sqs:SendMessage"],
                Resources = [queue.QueueArn],
                Conditions = new Dictionary<string, object>
                {
                    ["ArnLike"] = new Dictionary<string, object> { ["aws:SourceArn"] = lakeBucketArn },
                    ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = Aws.ACCOUNT_ID },
                },
            }));
            landing[source] = queue;
            landingDlq[source] = dlq;
        }
        LandingQueues = landing;
        LandingDeadLetterQueues = landingDlq;

        RefreshDeadLetterQueue = new Queue(this, "RefreshDlq", new QueueProps
        {
            Fifo = true,
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });
        RefreshQueue = new Queue(this, "RefreshQueue", new QueueProps
        {
            Fifo = true,
            // Off on purpose (DESIGN.md §4 trap a): content-based dedup would drop a refresh sent while the same
            // partition is being recomputed. The code sets a unique MessageDeduplicationId per message.
            ContentBasedDeduplication = false,
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            VisibilityTimeout = visibility,
            RetentionPeriod = Duration.Days(4),
            DeadLetterQueue = new DeadLetterQueue { Queue = RefreshDeadLetterQueue, MaxReceiveCount = MaxReceiveCount },
        });

        LakeBucket = new Bucket(this, "Lake", new BucketProps
        {
            BucketName = config.LakeBucket,
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            // Landing needs versions: a re-uploaded key is a new object version and the ingest records which one it read.
            Versioned = true,
            ServerAccessLogsBucket = AccessLogBucket,
            ServerAccessLogsPrefix = "lake/",
            LifecycleRules =
            [
                new LifecycleRule { Id = "expire-quarantine", Prefix = "quarantine/", Expiration = Duration.Days(QuarantineExpirationDays), NoncurrentVersionExpiration = Duration.Days(1) },
                new LifecycleRule { Id = "expire-staged-noncurrent", Prefix = "staged/", NoncurrentVersionExpiration = Duration.Days(StagedNoncurrentExpirationDays) },
                // Trusted and curated partitions are overwritten on every recompute; old versions are noise (and may hold withdrawn customers).
                new LifecycleRule { Id = "expire-trusted-noncurrent", Prefix = "trusted/", NoncurrentVersionExpiration = Duration.Days(1) },
                new LifecycleRule { Id = "expire-curated-noncurrent", Prefix = "curated/", NoncurrentVersionExpiration = Duration.Days(1) },
                new LifecycleRule { Id = "abort-incomplete-uploads", AbortIncompleteMultipartUploadAfter = Duration.Days(1) },
            ],
            RemovalPolicy = removal,
        });

        // Notifications as a plain bucket property instead of CDK's addEventNotification, which deploys a custom
        // resource Lambda allowed s3:PutBucketNotification on every bucket ("*").
        var cfnLake = (CfnBucket)LakeBucket.Node.DefaultChild!;
        cfnLake.NotificationConfiguration = new CfnBucket.NotificationConfigurationProperty
        {
            // Created objects are ingested; removed ones are retracted from every table (the tables are a function of
            // the set of landing objects that exist).
            QueueConfigurations = StediConfig.Sources.SelectMany(s => new[] { "s3:ObjectCreated:*", "s3:ObjectRemoved:*" }.Select(e => (object)new CfnBucket.QueueConfigurationProperty
            {
                Event = e,
                Queue = landing[s].QueueArn,
                Filter = new CfnBucket.NotificationFilterProperty
                {
                    S3Key = new CfnBucket.S3KeyFilterProperty
                    {
                        Rules = new object[] { new CfnBucket.FilterRuleProperty { Name = "prefix", Value = LandingPrefix(s) } },
                    },
                },
            })).ToArray(),
        };
        // S3 validates each destination when the configuration is set: the queue policies must exist first.
        foreach (var q in landing.Values)
            LakeBucket.Node.AddDependency(q.Node.TryFindChild("Policy") ?? throw new InvalidOperationException("landing queue has no policy"));

        IndexTable = new Table(this, "Index", new TableProps
        {
            PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "pk", Type = AttributeType.STRING },
            SortKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "sk", Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            PointInTimeRecovery = true,
            DeletionProtection = config.IsProduction,
            Encryption = TableEncryption.AWS_MANAGED,
            RemovalPolicy = removal,
        });

        new CfnOutput(this, "LakeBucketName", new CfnOutputProps { Value = LakeBucket.BucketName, Description = "Drop landing files under <source>/landing/ here" });
        new CfnOutput(this, "IndexTableName", new CfnOutputProps { Value = IndexTable.TableName });
    }

    /// <summary>The landing prefix of a source, e.g. <c>customer/landing/</c>.</summary>
    public static string LandingPrefix(string source) => $"{source}/landing/";

    /// <summary>PascalCase of a snake_case name, for construct ids: <c>step_trainer</c> to <c>StepTrainer</c>.</summary>
    public static string Pascal(string source) =>
        string.Concat(source.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}
