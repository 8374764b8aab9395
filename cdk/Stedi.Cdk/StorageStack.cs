using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.SecretsManager;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Stedi.Deployment;

namespace Stedi.Cdk;

/// <summary>
/// The stateful half of the lakehouse: the lake bucket (every zone as a prefix, SSE-KMS with its own key), its
/// access-log bucket, the landing queues that receive its S3 event notifications, the FIFO refresh queue, the DynamoDB
/// index table, the customer-key secret and the break-glass role. Queues live here, next to the bucket, because the
/// bucket's notification configuration and the queues' policies name each other: in one template that is a plain
/// DependsOn, across stacks it would be a cycle. The bucket policy and the secret's policy name the pipeline's roles
/// (Ingestion stack) by their deterministic ARNs (<see cref="StediConfig.RoleArn"/>) for the same reason.
/// </summary>
public sealed class StorageStack : Stack
{
    /// <summary>Days quarantined records are kept (they hold raw landing records of possibly non-consenting customers).</summary>
    public const int QuarantineExpirationDays = 90;

    /// <summary>
    /// Days a replaced or deleted landing object's old version is kept: 3. Nothing in the pipeline reads a noncurrent
    /// landing version (ingest GETs the version its HEAD returned, the current one; a retraction works from the index
    /// and the manifest), and an old version may hold a withdrawn customer's records. The versions are kept only so an
    /// operator can undo an accidental overwrite or delete (restore the old version); three days cover a weekend between
    /// the mistake and its discovery. S3 Lifecycle runs asynchronously, so removal can lag by about a day more
    /// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html).
    /// </summary>
    public const int LandingNoncurrentExpirationDays = 3;

    /// <summary>Days a replaced or retracted staged, quarantine, manifest, refine-detail, trusted or curated object
    /// version is kept: 1, the smallest S3 allows. Everything there can be rebuilt from landing; an old version is only
    /// a copy of data that a retraction has just removed.</summary>
    public const int DerivedNoncurrentExpirationDays = 1;

    /// <summary>The lake bucket: landing, staged, trusted, curated, quarantine, manifests and refine prefixes.</summary>
    public Bucket LakeBucket { get; }

    /// <summary>The customer managed KMS key of the lake bucket (SSE-KMS with an S3 Bucket Key).</summary>
    public Key LakeKey { get; }

    /// <summary>Server access log bucket of the lake and results buckets.</summary>
    public Bucket AccessLogBucket { get; }

    /// <summary>Landing queue per source (<c>customer</c>, <c>accelerometer</c>, <c>step_trainer</c>).</summary>
    public IReadOnlyDictionary<string, Queue> LandingQueues { get; }

    /// <summary>DLQ per landing queue, by source.</summary>
    public IReadOnlyDictionary<string, Queue> LandingDeadLetterQueues { get; }

    /// <summary>FIFO queue of partition refresh work (message group = table + partition), in high-throughput mode.</summary>
    public Queue RefreshQueue { get; }

    /// <summary>FIFO DLQ of the refresh queue.</summary>
    public Queue RefreshDeadLetterQueue { get; }

    /// <summary>The index table (pk/sk).</summary>
    public Table IndexTable { get; }

    /// <summary>The HMAC key of customer keys: a generated 64-character string only the pipeline's roles may read.</summary>
    public Secret CustomerKeySecret { get; }

    /// <summary>The one role besides the pipeline's that may read <c>landing/</c>, <c>staged/</c> and <c>quarantine/</c>.</summary>
    public Role BreakGlassRole { get; }

    /// <summary>The access-log prefix of the Athena results bucket (its delivery is granted here, with source conditions).</summary>
    public const string AthenaResultsLogPrefix = "athena-results/";

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
        // Log delivery for the Athena results bucket of the catalog stack, written here so that it carries the source
        // conditions (S3 user guide, server access logging: grant the logging service with aws:SourceArn and
        // aws:SourceAccount); CDK's own grant for a bucket in another stack has neither, so any bucket could log here.
        AccessLogBucket.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "AthenaResultsAccessLogDelivery",
            Effect = Effect.ALLOW,
            Principals = [new ServicePrincipal("logging.s3.amazonaws.com")],
            Actions = ["s3:PutObject"],
            Resources = [AccessLogBucket.ArnForObjects(AthenaResultsLogPrefix + "*")],
            Conditions = new Dictionary<string, object>
            {
                ["ArnLike"] = new Dictionary<string, object> { ["aws:SourceArn"] = $"arn:{Aws.PARTITION}:s3:::{config.ResultsBucket}" },
                ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = Aws.ACCOUNT_ID },
            },
        }));

        var landing = new Dictionary<string, Queue>();
        var landingDlq = new Dictionary<string, Queue>();
        var lakeBucketArn = $"arn:{Aws.PARTITION}:s3:::{config.LakeBucket}";
        foreach (var source in StediConfig.Sources)
        {
            var dlq = new Queue(this, $"{Pascal(source)}LandingDlq", new QueueProps
            {
                Encryption = QueueEncryption.SQS_MANAGED,
                EnforceSSL = true,
                RetentionPeriod = Duration.Days(Topology.DeadLetterRetentionDays),
            });
            var queue = new Queue(this, $"{Pascal(source)}LandingQueue", new QueueProps
            {
                // S3 can deliver to SSE-SQS queues; a customer-managed KMS key would also need a key policy for S3.
                Encryption = QueueEncryption.SQS_MANAGED,
                EnforceSSL = true,
                VisibilityTimeout = Duration.Seconds(Topology.LandingVisibilityTimeoutSeconds),
                RetentionPeriod = Duration.Days(Topology.QueueRetentionDays),
                DeadLetterQueue = new DeadLetterQueue { Queue = dlq, MaxReceiveCount = Topology.MaxReceiveCount },
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
            RetentionPeriod = Duration.Days(Topology.DeadLetterRetentionDays),
        });
        RefreshQueue = new Queue(this, "RefreshQueue", new QueueProps
        {
            Fifo = true,
            // Off on purpose (docs/ARCHITECTURE.md §7, trap a): content-based dedup would drop a refresh sent while the same
            // partition is being recomputed. The code sets a unique MessageDeduplicationId per message.
            ContentBasedDeduplication = false,
            // High-throughput FIFO: the throughput quota applies per message group (one group per table partition)
            // instead of to the whole queue, and deduplication is scoped to the group, which unique deduplication
            // ids make irrelevant anyway.
            // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html
            DeduplicationScope = DeduplicationScope.MESSAGE_GROUP,
            FifoThroughputLimit = FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            VisibilityTimeout = Duration.Seconds(Topology.RefreshVisibilityTimeoutSeconds),
            // A batching window for refresh work: an upload burst's ingests coalesce into one message per partition.
            DeliveryDelay = Duration.Seconds(Topology.RefreshDeliveryDelaySeconds),
            RetentionPeriod = Duration.Days(Topology.QueueRetentionDays),
            DeadLetterQueue = new DeadLetterQueue { Queue = RefreshDeadLetterQueue, MaxReceiveCount = Topology.MaxReceiveCount },
        });

        // Who can decrypt lake objects: the key policy is CDK's default (the account may delegate use of the key to IAM
        // policies), and exactly these identity policies grant kms:Decrypt on it, each only through S3
        // (kms:ViaService): the four pipeline roles, the break-glass role, and principals given the Catalog stack's
        // Athena reader policy. Account administrators who can edit IAM policies can grant themselves the same; the
        // bucket policy below is what keeps them (and every other principal) out of the raw zones.
        LakeKey = new Key(this, "LakeKey", new KeyProps
        {
            Description = $"STEDI lake bucket objects ({config.Stage})",
            Alias = $"alias/stedi-{config.Stage}-lake",
            EnableKeyRotation = true,
            RemovalPolicy = removal,
        });

        LakeBucket = new Bucket(this, "Lake", new BucketProps
        {
            BucketName = config.LakeBucket,
            // SSE-KMS with a customer managed key, and an S3 Bucket Key so S3 asks KMS for a bucket-level data key
            // instead of calling KMS for every object (fewer KMS requests and their cost):
            // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html
            Encryption = BucketEncryption.KMS,
            EncryptionKey = LakeKey,
            BucketKeyEnabled = true,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            // Landing needs versions: a re-uploaded key is a new object version and the ingest records which one it read.
            Versioned = true,
            ServerAccessLogsBucket = AccessLogBucket,
            ServerAccessLogsPrefix = "lake/",
            LifecycleRules = LifecycleRules(),
            RemovalPolicy = removal,
        });

        BreakGlassRole = new Role(this, "BreakGlass", new RoleProps
        {
            RoleName = config.RoleName(StediConfig.BreakGlass),
            Description = $"STEDI break-glass ({config.Stage}): read the raw lake zones; MFA sessions of this account only",
            // Any principal of this account allowed sts:AssumeRole on it, and only with MFA; every use is an AssumeRole
            // in CloudTrail.
            AssumedBy = new AccountRootPrincipal().WithConditions(new Dictionary<string, object>
            {
                ["Bool"] = new Dictionary<string, object> { ["aws:MultiFactorAuthPresent"] = "true" },
            }),
            MaxSessionDuration = Duration.Hours(1),
        });
        BreakGlassRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ReadRawZones",
            Actions = ["s3:GetObject", "s3:GetObjectVersion"],
            Resources = RawZonePrefixes().Select(p => $"{LakeBucket.BucketArn}/{p}*").ToArray(),
        }));
        BreakGlassRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ListLake",
            Actions = ["s3:ListBucket", "s3:ListBucketVersions"],
            Resources = [LakeBucket.BucketArn],
        }));
        BreakGlassRole.AddToPolicy(DecryptViaS3(LakeKey.KeyArn, "DecryptLakeObjects", write: false));

        // Nobody reads the raw zones but the pipeline and the break-glass role, whatever their identity policies say
        // (an explicit Deny wins; aws:PrincipalArn of a role session is the role's ARN:
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
        LakeBucket.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "DenyRawZoneReadsExceptPipelineAndBreakGlass",
            Effect = Effect.DENY,
            Principals = [new AnyPrincipal()],
            Actions = ["s3:GetObject", "s3:GetObjectVersion"],
            Resources = RawZonePrefixes().Select(p => $"{LakeBucket.BucketArn}/{p}*").ToArray(),
            Conditions = new Dictionary<string, object>
            {
                ["ArnNotEquals"] = new Dictionary<string, object>
                {
                    ["aws:PrincipalArn"] = config.PipelineRoleArns.Append(config.RoleArn(StediConfig.BreakGlass)).ToArray(),
                },
            },
        }));

        // Notifications as a plain bucket property instead of CDK's addEventNotification, which deploys a custom
        // resource Lambda allowed s3:PutBucketNotification on every bucket ("*").
        var cfnLake = (CfnBucket)LakeBucket.Node.DefaultChild!;
        cfnLake.NotificationConfiguration = new CfnBucket.NotificationConfigurationProperty
        {
            // Created objects are ingested; removed ones are retracted from every table (the tables are a function of
            // the set of landing objects that exist).
            QueueConfigurations = StediConfig.Sources.SelectMany(s => Topology.LandingEvents.Select(e => (object)new CfnBucket.QueueConfigurationProperty
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

        // The HMAC key of customer keys (index keys and log fields are a keyed hash of the email). Stateful: a new key
        // would change every customer key in the index, so it lives here, is retained in prod and is never rotated by
        // the stack. No fixed name, so a deleted dev secret (kept for the recovery window) never blocks a redeploy.
        CustomerKeySecret = new Secret(this, "CustomerKeySecret", new SecretProps
        {
            Description = $"STEDI customer-key HMAC secret ({config.Stage}); readable only by the pipeline's function roles",
            GenerateSecretString = new SecretStringGenerator
            {
                PasswordLength = 64,
                ExcludePunctuation = true,
                IncludeSpace = false,
            },
            RemovalPolicy = removal,
        });
        CustomerKeySecret.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "DenyReadExceptPipeline",
            Effect = Effect.DENY,
            Principals = [new AnyPrincipal()],
            Actions = ["secretsmanager:GetSecretValue"],
            Resources = ["*"],
            Conditions = new Dictionary<string, object>
            {
                ["ArnNotEquals"] = new Dictionary<string, object> { ["aws:PrincipalArn"] = config.PipelineRoleArns.ToArray() },
            },
        }));

        new CfnOutput(this, "LakeBucketName", new CfnOutputProps { Value = LakeBucket.BucketName, Description = "Drop landing files under <source>/landing/ here" });
        new CfnOutput(this, "IndexTableName", new CfnOutputProps { Value = IndexTable.TableName });
        new CfnOutput(this, "BreakGlassRoleArn", new CfnOutputProps { Value = BreakGlassRole.RoleArn, Description = "Assume with MFA to read landing/, staged/ or quarantine/" });
    }

    /// <summary>The prefixes whose objects hold every landing record, consenting or not: each source's landing prefix,
    /// <c>staged/</c> and <c>quarantine/</c>.</summary>
    public static IReadOnlyList<string> RawZonePrefixes() =>
        [.. StediConfig.Sources.Select(Topology.LandingPrefix), Topology.StagedRoot, Topology.QuarantineRoot];

    /// <summary>An identity-policy statement allowing use of the lake key only through S3: Decrypt (reads, and
    /// completing multipart uploads) and, with <paramref name="write"/>, GenerateDataKey (writes).
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html</summary>
    public static PolicyStatement DecryptViaS3(string keyArn, string sid, bool write) => new(new PolicyStatementProps
    {
        Sid = sid,
        Actions = write ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
        Resources = [keyArn],
        Conditions = new Dictionary<string, object>
        {
            ["StringEquals"] = new Dictionary<string, object> { ["kms:ViaService"] = $"s3.{Aws.REGION}.amazonaws.com" },
        },
    });

    private static ILifecycleRule[] LifecycleRules()
    {
        var derived = Duration.Days(DerivedNoncurrentExpirationDays);
        var rules = new List<ILifecycleRule>();
        foreach (var source in StediConfig.Sources)
            rules.Add(new LifecycleRule
            {
                Id = $"expire-noncurrent-{source}-landing",
                Prefix = Topology.LandingPrefix(source),
                NoncurrentVersionExpiration = Duration.Days(LandingNoncurrentExpirationDays),
            });
        rules.Add(new LifecycleRule { Id = "expire-noncurrent-staged", Prefix = Topology.StagedRoot, NoncurrentVersionExpiration = derived });
        rules.Add(new LifecycleRule
        {
            Id = "expire-quarantine",
            Prefix = Topology.QuarantineRoot,
            Expiration = Duration.Days(QuarantineExpirationDays),
            NoncurrentVersionExpiration = derived,
        });
        rules.Add(new LifecycleRule { Id = "expire-noncurrent-manifests", Prefix = Topology.ManifestsRoot, NoncurrentVersionExpiration = derived });
        rules.Add(new LifecycleRule { Id = "expire-noncurrent-refine", Prefix = Topology.RefineRoot, NoncurrentVersionExpiration = derived });
        // Trusted and curated partitions are overwritten on every recompute; old versions may hold withdrawn customers.
        rules.Add(new LifecycleRule { Id = "expire-noncurrent-trusted", Prefix = Topology.TrustedRoot, NoncurrentVersionExpiration = derived });
        rules.Add(new LifecycleRule { Id = "expire-noncurrent-curated", Prefix = Topology.CuratedRoot, NoncurrentVersionExpiration = derived });
        // Bucket-wide: a delete marker left alone once its noncurrent versions have expired is removed (S3 does not
        // allow ExpiredObjectDeleteMarker in a rule that also expires current objects after days, like quarantine's:
        // https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html), and incomplete multipart
        // uploads are aborted.
        rules.Add(new LifecycleRule
        {
            Id = "remove-expired-delete-markers-and-uploads",
            ExpiredObjectDeleteMarker = true,
            AbortIncompleteMultipartUploadAfter = Duration.Days(1),
        });
        return [.. rules];
    }

    /// <summary>The landing prefix of a source, e.g. <c>customer/landing/</c>.</summary>
    public static string LandingPrefix(string source) => Topology.LandingPrefix(source);

    /// <summary>PascalCase of a snake_case name, for construct ids: <c>step_trainer</c> to <c>StepTrainer</c>.</summary>
    public static string Pascal(string source) =>
        string.Concat(source.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}
