using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SNS.Subscriptions;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Stedi.Deployment;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk;

/// <summary>
/// The stateless compute: one ingest function per landing source and the refine function, their event source
/// mappings (bounded by <c>MaximumConcurrency</c>), least-privilege roles (only the actions the adapters call, per-prefix
/// object ARNs, the specific queues, the index table, the lake key through S3, the customer-key secret), and the alarms.
/// Sizes and mapping settings come from <see cref="Topology"/>, shared with the functions and the emulated deployment.
/// </summary>
public sealed class IngestionStack : Stack
{
    /// <summary>Age (seconds) of the oldest landing message above which that queue's backlog alarm fires: 30 min. A
    /// healthy burst drains well within it; a message that failed once reappears only after the 90-minute visibility
    /// timeout, so a batch item failure (which the function's Errors metric never counts) shows up here.</summary>
    public const int LandingQueueAgeAlarmSeconds = 1800;

    /// <summary>Age (seconds) of the oldest refresh message above which the refresh backlog alarm fires: 15 min, less
    /// than the 18-minute visibility timeout, so one failed refresh raises it.</summary>
    public const int RefreshQueueAgeAlarmSeconds = 900;

    /// <summary>Handler of the ingest functions (managed runtime, raw Stream contract).</summary>
    public const string IngestHandler = "Stedi.Functions::Stedi.Functions.IngestFunction::HandleAsync";

    /// <summary>Handler of the refine function.</summary>
    public const string RefineHandler = "Stedi.Functions::Stedi.Functions.RefineFunction::HandleAsync";

    /// <summary>Ingest functions by source.</summary>
    public IReadOnlyDictionary<string, Function> IngestFunctions { get; }

    /// <summary>The refine function.</summary>
    public Function RefineFunction { get; }

    /// <summary>The topic the alarms notify.</summary>
    public Topic AlarmTopic { get; }

    /// <summary>Creates the stack.</summary>
    /// <param name="scope">Parent construct.</param>
    /// <param name="id">Stack id.</param>
    /// <param name="config">Deployment settings.</param>
    /// <param name="storage">Buckets, queues, the index table, the lake key and the customer-key secret.</param>
    /// <param name="code">The published <c>Stedi.Functions</c> (see <see cref="FunctionsCode"/>).</param>
    /// <param name="props">Stack properties.</param>
    public IngestionStack(Construct scope, string id, StediConfig config, StorageStack storage, Code code, IStackProps? props = null)
        : base(scope, id, props)
    {
        var runtime = new Runtime("dotnet10", RuntimeFamily.DOTNET_CORE);
        var lake = new LakeArns(storage.LakeBucket.BucketArn);
        var logRetention = config.IsProduction ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH;

        Dictionary<string, string> Env(string? source)
        {
            var env = new Dictionary<string, string>
            {
                [Topology.Env.LakeBucket] = storage.LakeBucket.BucketName,
                [Topology.Env.IndexTable] = storage.IndexTable.TableName,
                [Topology.Env.RefreshQueueUrl] = storage.RefreshQueue.QueueUrl,
                [Topology.Env.GlueDatabase] = config.GlueDatabaseName,
                [Topology.Env.Profile] = config.ProfileName,
                [Topology.Env.MaxObjectBytes] = Topology.MaxObjectBytes.ToString(CultureInfo.InvariantCulture),
                [Topology.Env.CustomerKeySecretId] = storage.CustomerKeySecret.SecretArn,
            };
            if (source is not null) env[Topology.Env.Source] = source;
            return env;
        }

        Function NewFunction(string name, string roleFunction, string handler, int memoryMb, int timeoutSeconds, int tmpMb,
            Dictionary<string, string> env, out Role role)
        {
            var logGroup = new LogGroup(this, $"{name}Logs", new LogGroupProps
            {
                Retention = logRetention,
                RemovalPolicy = config.IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
            });
            // An own role instead of AWSLambdaBasicExecutionRole, whose logs actions apply to every log group ("*").
            // Named deterministically: the Storage stack's bucket and secret policies name it (StediConfig.RoleArn).
            role = new Role(this, $"{name}Role", new RoleProps
            {
                RoleName = config.RoleName(roleFunction),
                AssumedBy = new ServicePrincipal("lambda.amazonaws.com"),
                Description = $"STEDI {name} function ({config.Stage})",
            });
            role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "WriteOwnLogs",
                Actions = ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resources = [$"{logGroup.LogGroupArn}"],
            }));
            // Every function: list the lake without an s3:prefix condition. S3 answers a GET/HEAD of a missing key with
            // 404 only to a caller allowed s3:ListBucket on the bucket, else 403, and a GET or HEAD carries no
            // s3:prefix for a condition to match (GetObject API reference, "Permissions":
            // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
            role.AddToPolicy(lake.ListBucket());
            // Every function: read the bucket's profile record before it writes, and create it when it writes first
            // (a conditional PutObject); a function deployed with another profile then refuses to write (LakeBucketProfile).
            role.AddToPolicy(lake.Key("ReadOrCreateLakeProfile", ["s3:GetObject", "s3:PutObject"], Topology.LakeProfileKey));
            role.AddToPolicy(StorageStack.DecryptViaS3(storage.LakeKey.KeyArn, "UseLakeKeyThroughS3", write: true));
            role.AddToPolicy(IndexReadWrite(storage));
            role.AddToPolicy(SendRefresh(storage.RefreshQueue));
            role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "ReadCustomerKeySecret",
                Actions = ["secretsmanager:GetSecretValue"],
                Resources = [storage.CustomerKeySecret.SecretArn],
            }));

            return new Function(this, name, new FunctionProps
            {
                Runtime = runtime,
                Architecture = Architecture.ARM_64,
                Handler = handler,
                Code = code,
                MemorySize = memoryMb,
                Timeout = Duration.Seconds(timeoutSeconds),
                EphemeralStorageSize = Size.Mebibytes(tmpMb),
                Role = role,
                LogGroup = logGroup,
                LoggingFormat = LoggingFormat.JSON,
                Environment = env,
                Description = $"STEDI {name} ({config.Stage}, {config.ProfileName})",
            });
        }

        var ingest = new Dictionary<string, Function>();
        foreach (var source in StediConfig.Sources)
        {
            var name = $"Ingest{StorageStack.Pascal(source)}";
            var fn = NewFunction(name, StediConfig.IngestFunction(source), IngestHandler,
                Topology.IngestMemoryMb, Topology.IngestTimeoutSeconds, Topology.IngestEphemeralStorageMb, Env(source), out var role);
            // Exactly the object calls Ingestor makes for its source (IamTests.ExpectedObjectGrants lists each with its call):
            // HEAD (s3:GetObject) and GET of the version HEAD returned (s3:GetObjectVersion) of its own landing objects.
            role.AddToPolicy(lake.Grant("ReadOwnLanding", ["s3:GetObject", "s3:GetObjectVersion"], Topology.LandingPrefix(source)));
            // GET of the previous manifest of a replaced or deleted landing object (it lists the staged keys to remove);
            // customer only: GET of that version's staged objects, whose records are the customer versions to retract
            // (Ingestor.StagedVersionsAsync).
            role.AddToPolicy(lake.Grant(source == "customer" ? "ReadOwnManifestsAndStagedVersions" : "ReadOwnManifests", ["s3:GetObject"], source == "customer"
                ? [Topology.ManifestPrefix(source), Topology.StagedPrefix(source)]
                : [Topology.ManifestPrefix(source)]));
            // Staged Parquet and quarantine lines are spilled files that may exceed the multipart threshold (hence
            // AbortMultipartUpload); stale staged objects and a retracted object's quarantine are deleted.
            role.AddToPolicy(lake.Grant("WriteOwnStagedAndQuarantine", WriteLarge, Topology.StagedPrefix(source), Topology.QuarantinePrefix(source)));
            // A manifest is a few kilobytes, always one PutObject; a retracted object's manifest is deleted.
            role.AddToPolicy(lake.Grant("WriteOwnManifests", WriteSmall, Topology.ManifestPrefix(source)));
            Consume(fn, role, storage.LandingQueues[source], Topology.IngestBatchSize, Topology.IngestMaximumConcurrency(source));
            ingest[source] = fn;
        }
        IngestFunctions = ingest;

        RefineFunction = NewFunction("Refine", StediConfig.RefineFunction, RefineHandler,
            Topology.RefineMemoryMb, Topology.RefineTimeoutSeconds, Topology.RefineEphemeralStorageMb, Env(null), out var refineRole);
        // Exactly the object calls Refiner makes: GET of a partition's listed staged objects and compactions (every
        // source), of upstream published partitions, of the previous refine detail; HEAD of its own unchanged output.
        refineRole.AddToPolicy(lake.Grant("ReadStagedPublishedDetails", ["s3:GetObject"],
            Topology.StagedRoot, Topology.TrustedRoot, Topology.CuratedRoot, Topology.RefineRoot));
        // Published partitions (a sliced partition is a spilled file: multipart) and compactions; an emptied partition
        // and older compactions are deleted. Refine writes no other staged key: the staged objects are ingest's.
        refineRole.AddToPolicy(lake.Grant("WritePublishedAndCompactions", WriteLarge,
            Topology.TrustedRoot, Topology.CuratedRoot, Topology.CompactedStagedPattern));
        // The detail of each recompute (a few kilobytes, one PutObject) and the deletion of the one it replaces.
        refineRole.AddToPolicy(lake.Grant("WriteDetails", WriteSmall, Topology.RefineRoot));
        Consume(RefineFunction, refineRole, storage.RefreshQueue, Topology.RefineBatchSize, Topology.RefineMaximumConcurrency);

        AlarmTopic = new Topic(this, "Alarms", new TopicProps { DisplayName = $"STEDI lakehouse alarms ({config.Stage})" });
        // Written out because TopicProps.EnforceSSL in CDK 2.160 only takes effect once some other statement is added.
        AlarmTopic.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "DenyInsecureTransport",
            Effect = Effect.DENY,
            Principals = [new AnyPrincipal()],
            Actions = ["sns:Publish"],
            Resources = [AlarmTopic.TopicArn],
            Conditions = new Dictionary<string, object>
            {
                ["Bool"] = new Dictionary<string, object> { ["aws:SecureTransport"] = "false" },
            },
        }));
        // A topic policy replaces SNS's default one (which let the account publish): without this Allow, CloudWatch's
        // alarm actions are refused ("no resource-based policy allows the SNS:Publish action") and no alarm ever
        // notifies anyone. Scoped to this account's alarms (SNS developer guide, "Amazon SNS access control" and the
        // confused-deputy conditions aws:SourceAccount / aws:SourceArn).
        AlarmTopic.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "AllowCloudWatchAlarmsOfThisAccount",
            Effect = Effect.ALLOW,
            Principals = [new ServicePrincipal("cloudwatch.amazonaws.com")],
            Actions = ["sns:Publish"],
            Resources = [AlarmTopic.TopicArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = Account },
                ["ArnLike"] = new Dictionary<string, object> { ["aws:SourceArn"] = $"arn:{Partition}:cloudwatch:{Region}:{Account}:alarm:*" },
            },
        }));
        if (config.AlarmEmail is { } email) AlarmTopic.AddSubscription(new EmailSubscription(email));
        var action = new SnsAction(AlarmTopic);

        void Alarm(string id, Metric metric, double threshold, string description)
        {
            var alarm = new Alarm(this, id, new AlarmProps
            {
                Metric = metric,
                Threshold = threshold,
                EvaluationPeriods = 1,
                ComparisonOperator = ComparisonOperator.GREATER_THAN_THRESHOLD,
                TreatMissingData = TreatMissingData.NOT_BREACHING,
                AlarmDescription = description,
            });
            alarm.AddAlarmAction(action);
        }

        foreach (var (source, dlq) in storage.LandingDeadLetterQueues)
            Alarm($"{StorageStack.Pascal(source)}LandingDlqDepth", DlqDepth(dlq), 0, $"{source} landing events failed {Topology.MaxReceiveCount} times and wait in the DLQ");
        Alarm("RefreshDlqDepth", DlqDepth(storage.RefreshDeadLetterQueue), 0, "refresh messages failed and wait in the DLQ: some partition is stale");
        foreach (var (source, queue) in storage.LandingQueues)
            Alarm($"{StorageStack.Pascal(source)}LandingQueueAge", OldestMessageAge(queue), LandingQueueAgeAlarmSeconds,
                $"{source} landing events wait too long: ingest is failing (batch item failures), throttled or behind");
        Alarm("RefreshQueueAge", OldestMessageAge(storage.RefreshQueue), RefreshQueueAgeAlarmSeconds,
            "refresh work waits too long: refine is failing (batch item failures), throttled or behind");
        foreach (var fn in ingest.Values.Append(RefineFunction))
            Alarm($"{fn.Node.Id}Errors", fn.MetricErrors(new MetricOptions { Period = Duration.Minutes(5), Statistic = "Sum" }), 0, $"{fn.Node.Id} function errors (timeouts, crashes; batch item failures are not counted here)");
    }

    /// <summary>
    /// The event source mapping of a queue, with the role statements it needs written out (instead of
    /// <c>SqsEventSource</c>'s grant, which adds <c>sqs:GetQueueUrl</c> and <c>sqs:ChangeMessageVisibility</c> that
    /// Lambda's poller does not call). Partial batch responses are on: a failed message is reported in
    /// <c>batchItemFailures</c> and retried alone.
    /// </summary>
    private void Consume(Function fn, Role role, IQueue queue, int batchSize, int maxConcurrency)
    {
        // The execution role permissions an SQS event source mapping needs:
        // https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (ReceiveMessage, DeleteMessage, GetQueueAttributes).
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ConsumeOwnQueue",
            Actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            Resources = [queue.QueueArn],
        }));
        var mapping = new EventSourceMapping(this, $"{fn.Node.Id}Mapping", new EventSourceMappingProps
        {
            Target = fn,
            EventSourceArn = queue.QueueArn,
            BatchSize = batchSize,
            MaxConcurrency = maxConcurrency,
            ReportBatchItemFailures = true,
        });
        // Lambda checks the role's queue permissions when the mapping is created.
        mapping.Node.AddDependency(role);
    }

    /// <summary>The staged table prefix of a landing source, from the domain schema (e.g. <c>staged/customer/</c>).</summary>
    public static string StagedPrefix(string source) =>
        new[] { Tables.StagedCustomer, Tables.StagedAccelerometer, Tables.StagedStepTrainer }.Single(t => t.Name == source).Prefix;

    private static Metric DlqDepth(IQueue dlq) =>
        dlq.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Period = Duration.Minutes(1), Statistic = "Maximum" });

    private static Metric OldestMessageAge(IQueue queue) =>
        queue.MetricApproximateAgeOfOldestMessage(new MetricOptions { Period = Duration.Minutes(5), Statistic = "Maximum" });

    /// <summary>The DynamoDB actions the index adapters call (ListLedger/ListOutcomes scan); the table has no indexes.</summary>
    public static readonly IReadOnlyList<string> IndexActions =
    [
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:Scan",
    ];

    private static PolicyStatement IndexReadWrite(StorageStack storage) => new(new PolicyStatementProps
    {
        Sid = "IndexReadWrite",
        Actions = [.. IndexActions],
        Resources = [storage.IndexTable.TableArn],
    });

    // sqs:SendMessage also authorises SendMessageBatch; IAM has no separate batch action
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html).
    private static PolicyStatement SendRefresh(IQueue refresh) => new(new PolicyStatementProps
    {
        Sid = "SendRefreshWork",
        Actions = ["sqs:SendMessage"],
        Resources = [refresh.QueueArn],
    });

    // PutObject also authorises CreateMultipartUpload, UploadPart and CompleteMultipartUpload; S3ObjectStore aborts a
    // failed multipart upload, which has its own action
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions). Objects written from a
    // small in-memory buffer (manifests, refine details) never reach the multipart threshold.
    private static readonly string[] WriteLarge = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
    private static readonly string[] WriteSmall = ["s3:PutObject", "s3:DeleteObject"];

    /// <summary>Object and bucket ARNs of the lake, narrowed to prefixes.</summary>
    private sealed class LakeArns(string bucketArn)
    {
        // A prefix ends in "/" and gets "*"; a pattern that already holds a wildcard is taken as it is.
        private string[] Objects(string[] patterns) => patterns.Select(p => p.Contains('*') ? $"{bucketArn}/{p}" : $"{bucketArn}/{p}*").ToArray();

        public PolicyStatement Grant(string sid, string[] actions, params string[] patterns) => new(new PolicyStatementProps
        {
            Sid = sid,
            Actions = actions,
            Resources = Objects(patterns),
        });

        public PolicyStatement Key(string sid, string[] actions, string key) => new(new PolicyStatementProps
        {
            Sid = sid,
            Actions = actions,
            Resources = [$"{bucketArn}/{key}"],
        });

        public PolicyStatement ListBucket() => new(new PolicyStatementProps
        {
            Sid = "ListLakeBucket",
            Actions = ["s3:ListBucket"],
            Resources = [bucketArn],
        });
    }
}
