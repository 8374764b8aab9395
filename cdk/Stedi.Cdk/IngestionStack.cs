using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Lambda.EventSources;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SNS.Subscriptions;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk;

/// <summary>
/// The stateless compute: one ingest function per landing source and the refine function, their event source
/// mappings, least-privilege roles (explicit actions, per-prefix object ARNs, the specific queues, the index table
/// and the five Glue tables), and the alarms.
/// </summary>
public sealed class IngestionStack : Stack
{
    /// <summary>Ingest memory (MB): guarantee 5 asks that a 1 GB function streams a multi-GB object.</summary>
    public const int IngestMemoryMb = 1024;

    /// <summary>Refine memory (MB): one partition of one table is recomputed in memory; 2 GB also buys ~1.2 vCPU.</summary>
    public const int RefineMemoryMb = 2048;

    /// <summary>Refine batch size: messages of different partitions are processed together; FIFO allows at most 10.</summary>
    public const int RefineBatchSize = 10;

    /// <summary>Age (seconds) of the oldest refresh message above which the refresh backlog alarm fires.</summary>
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
    /// <param name="storage">Buckets, queues and the index table.</param>
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
                ["STEDI_LAKE_BUCKET"] = storage.LakeBucket.BucketName,
                ["STEDI_INDEX_TABLE"] = storage.IndexTable.TableName,
                ["STEDI_REFRESH_QUEUE_URL"] = storage.RefreshQueue.QueueUrl,
                ["STEDI_GLUE_DATABASE"] = config.GlueDatabaseName,
                ["STEDI_PROFILE"] = config.ProfileName,
            };
            if (source is not null) env["STEDI_SOURCE"] = source;
            if (config.LogHashKeyParam is not null) env["STEDI_LOG_HASH_KEY_PARAM"] = config.LogHashKeyParam;
            return env;
        }

        Function NewFunction(string name, string handler, int memory, Dictionary<string, string> env, out Role role)
        {
            var logGroup = new LogGroup(this, $"{name}Logs", new LogGroupProps
            {
                Retention = logRetention,
                RemovalPolicy = config.IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
            });
            // An own role instead of AWSLambdaBasicExecutionRole, whose logs actions apply to every log group ("*").
            role = new Role(this, $"{name}Role", new RoleProps
            {
                AssumedBy = new ServicePrincipal("lambda.amazonaws.com"),
                Description = $"STEDI {name} function ({config.Stage})",
            });
            role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "WriteOwnLogs",
                Actions = ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resources = [$"{logGroup.LogGroupArn}"],
            }));
            if (config.LogHashKeyParam is { } param)
                role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "ReadLogHashKey",
                    Actions = ["ssm:GetParameter"],
                    Resources = [$"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter/{param.TrimStart('/')}"],
                }));

            return new Function(this, name, new FunctionProps
            {
                Runtime = runtime,
                Architecture = Architecture.ARM_64,
                Handler = handler,
                Code = code,
                MemorySize = memory,
                Timeout = StorageStack.FunctionTimeout,
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
            var fn = NewFunction(name, IngestHandler, IngestMemoryMb, Env(source), out var role);
            // The source's staged table prefix comes from the schema (staged/customer/, ...): a source cannot touch
            // another source's staged records.
            var staged = StagedPrefix(source);
            role.AddToPolicy(lake.ReadObjects("ReadOwnLanding", StorageStack.LandingPrefix(source)));
            role.AddToPolicy(lake.List("ListOwnLandingAndOutputs", StorageStack.LandingPrefix(source), staged, "quarantine/", "manifests/"));
            role.AddToPolicy(lake.ReadObjects("ReadOwnOutputs", staged, "quarantine/", "manifests/"));
            role.AddToPolicy(lake.WriteObjects("WriteStagedQuarantineManifests", staged, "quarantine/", "manifests/"));
            role.AddToPolicy(IndexReadWrite(storage));
            role.AddToPolicy(SendRefresh(storage.RefreshQueue));
            // One landing object per invocation: the function timeout then bounds the work of one (possibly
            // multi-GB) object, and ReportBatchItemFailures still lets a failed object retry alone.
            fn.AddEventSource(new SqsEventSource(storage.LandingQueues[source], new SqsEventSourceProps
            {
                BatchSize = 1,
                ReportBatchItemFailures = true,
            }));
            ingest[source] = fn;
        }
        IngestFunctions = ingest;

        RefineFunction = NewFunction("Refine", RefineHandler, RefineMemoryMb, Env(null), out var refineRole);
        refineRole.AddToPolicy(lake.ReadObjects("ReadStagedTrustedCurated", "staged/", "trusted/", "curated/"));
        refineRole.AddToPolicy(lake.List("ListStagedTrustedCurated", "staged/", "trusted/", "curated/"));
        refineRole.AddToPolicy(lake.WriteObjects("WriteTrustedCurated", "trusted/", "curated/"));
        refineRole.AddToPolicy(IndexReadWrite(storage));
        refineRole.AddToPolicy(SendRefresh(storage.RefreshQueue));
        refineRole.AddToPolicy(GlueCatalog(config));
        RefineFunction.AddEventSource(new SqsEventSource(storage.RefreshQueue, new SqsEventSourceProps
        {
            BatchSize = RefineBatchSize,
            ReportBatchItemFailures = true,
        }));

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
            Alarm($"{StorageStack.Pascal(source)}LandingDlqDepth", DlqDepth(dlq), 0, $"{source} landing events failed {StorageStack.MaxReceiveCount} times and wait in the DLQ");
        Alarm("RefreshDlqDepth", DlqDepth(storage.RefreshDeadLetterQueue), 0, "refresh messages failed and wait in the DLQ: some partition is stale");
        foreach (var fn in ingest.Values.Append(RefineFunction))
            Alarm($"{fn.Node.Id}Errors", fn.MetricErrors(new MetricOptions { Period = Duration.Minutes(5), Statistic = "Sum" }), 0, $"{fn.Node.Id} function errors");
        Alarm("RefreshQueueAge",
            storage.RefreshQueue.MetricApproximateAgeOfOldestMessage(new MetricOptions { Period = Duration.Minutes(5), Statistic = "Maximum" }),
            RefreshQueueAgeAlarmSeconds, "refresh work waits too long: refine is failing or throttled");
    }

    /// <summary>The staged table prefix of a landing source, from the domain schema (e.g. <c>staged/customer/</c>).</summary>
    public static string StagedPrefix(string source) =>
        new[] { Tables.StagedCustomer, Tables.StagedAccelerometer, Tables.StagedStepTrainer }.Single(t => t.Name == source).Prefix;

    private static Metric DlqDepth(IQueue dlq) =>
        dlq.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Period = Duration.Minutes(1), Statistic = "Maximum" });

    private static PolicyStatement IndexReadWrite(StorageStack storage) => new(new PolicyStatementProps
    {
        Sid = "IndexReadWrite",
        // Transactions are authorised through the item actions they contain; the table has no indexes.
        Actions =
        [
            "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
            "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
        ],
        Resources = [storage.IndexTable.TableArn],
    });

    private static PolicyStatement SendRefresh(IQueue refresh) => new(new PolicyStatementProps
    {
        Sid = "SendRefreshWork",
        Actions = ["sqs:SendMessage", "sqs:GetQueueAttributes"],
        Resources = [refresh.QueueArn],
    });

    private static PolicyStatement GlueCatalog(StediConfig config)
    {
        var prefix = $"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}";
        var resources = new List<string>
        {
            // Glue authorises table and partition actions on the catalog, the database and the table ARN together.
            $"{prefix}:catalog",
            $"{prefix}:database/{config.GlueDatabaseName}",
        };
        resources.AddRange(Tables.Published(config.Profile).Select(t => $"{prefix}:table/{config.GlueDatabaseName}/{t.Name}"));
        return new PolicyStatement(new PolicyStatementProps
        {
            Sid = "RegisterPublishedTablesAndPartitions",
            Actions =
            [
                "glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable",
                "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
            ],
            Resources = resources.ToArray(),
        });
    }

    /// <summary>Object and bucket ARNs of the lake, narrowed to prefixes.</summary>
    private sealed class LakeArns(string bucketArn)
    {
        private string[] Objects(string[] prefixes) => prefixes.Select(p => $"{bucketArn}/{p}*").ToArray();

        public PolicyStatement ReadObjects(string sid, params string[] prefixes) => new(new PolicyStatementProps
        {
            Sid = sid,
            Actions = ["s3:GetObject", "s3:GetObjectVersion"],
            Resources = Objects(prefixes),
        });

        public PolicyStatement WriteObjects(string sid, params string[] prefixes) => new(new PolicyStatementProps
        {
            Sid = sid,
            Actions = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            Resources = Objects(prefixes),
        });

        // ListBucket is a bucket-level action; the s3:prefix condition narrows it to the given prefixes.
        public PolicyStatement List(string sid, params string[] prefixes) => new(new PolicyStatementProps
        {
            Sid = sid,
            Actions = ["s3:ListBucket"],
            Resources = [bucketArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringLike"] = new Dictionary<string, object> { ["s3:prefix"] = prefixes.Select(p => $"{p}*").ToArray() },
            },
        });
    }
}
