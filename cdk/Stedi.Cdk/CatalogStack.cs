using Amazon.CDK;
using Amazon.CDK.AWS.Athena;
using Amazon.CDK.AWS.Glue;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.S3;
using Constructs;
using Stedi.Deployment;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk;

/// <summary>
/// The query side: the Glue database and the five published tables of <see cref="Deployment.GlueTables.Published"/> (generated
/// from <see cref="Tables.Published(ConsentProfile)"/>, the one schema definition; no crawler) with Athena partition
/// projection, so no partition is ever registered and the functions make no Glue call; the Athena results bucket, a
/// workgroup that enforces its result location and encryption, named queries (row counts and spot checks), and the
/// managed policy that lets a principal query the tables.
/// </summary>
public sealed class CatalogStack : Stack
{
    /// <summary>The Glue database.</summary>
    public CfnDatabase Database { get; }

    /// <summary>The Glue tables, by table name.</summary>
    public IReadOnlyDictionary<string, CfnTable> GlueTables { get; }

    /// <summary>The Athena workgroup.</summary>
    public CfnWorkGroup WorkGroup { get; }

    /// <summary>The Athena results bucket.</summary>
    public Bucket ResultsBucket { get; }

    /// <summary>What an analyst needs to query the published tables in the workgroup (attach it to their role or group):
    /// the workgroup, the catalog's tables, <c>trusted/</c> and <c>curated/</c> of the lake (never the raw zones, which
    /// the bucket policy denies anyway), the lake key through S3, and the results bucket.</summary>
    public ManagedPolicy AthenaReaderPolicy { get; }

    /// <summary>Creates the stack.</summary>
    /// <param name="scope">Parent construct.</param>
    /// <param name="id">Stack id.</param>
    /// <param name="config">Deployment settings.</param>
    /// <param name="storage">The lake bucket the tables point into, its key, and the access-log bucket.</param>
    /// <param name="props">Stack properties.</param>
    public CatalogStack(Construct scope, string id, StediConfig config, StorageStack storage, IStackProps? props = null)
        : base(scope, id, props)
    {
        var lakeBucketName = storage.LakeBucket.BucketName;
        var accessLogBucket = storage.AccessLogBucket;
        Database = new CfnDatabase(this, "Database", new CfnDatabaseProps
        {
            CatalogId = Aws.ACCOUNT_ID,
            DatabaseInput = new CfnDatabase.DatabaseInputProperty
            {
                Name = config.GlueDatabaseName,
                Description = $"STEDI lakehouse ({config.Stage}, profile {config.ProfileName}): trusted and curated zones",
            },
        });

        var tables = new Dictionary<string, CfnTable>();
        foreach (var definition in Deployment.GlueTables.Published(config.Profile, lakeBucketName))
        {
            var table = new CfnTable(this, $"Table{StorageStack.Pascal(definition.Name)}", new CfnTableProps
            {
                CatalogId = Aws.ACCOUNT_ID,
                DatabaseName = config.GlueDatabaseName,
                TableInput = TableInput(definition),
            });
            table.AddDependency(Database);
            tables[definition.Name] = table;
        }
        GlueTables = tables;

        ResultsBucket = new Bucket(this, "AthenaResults", new BucketProps
        {
            BucketName = config.ResultsBucket,
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            LifecycleRules = [new LifecycleRule { Id = "expire-results", Expiration = Duration.Days(30) }],
            RemovalPolicy = config.IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        });

        // Access logging set on the resource itself: the bucket's ServerAccessLogsBucket property would make CDK add a
        // grant to the log bucket of another stack without source conditions (StorageStack writes a conditioned one).
        ((CfnBucket)ResultsBucket.Node.DefaultChild!).LoggingConfiguration = new CfnBucket.LoggingConfigurationProperty
        {
            DestinationBucketName = accessLogBucket.BucketName,
            LogFilePrefix = StorageStack.AthenaResultsLogPrefix,
        };

        WorkGroup = new CfnWorkGroup(this, "WorkGroup", new CfnWorkGroupProps
        {
            Name = config.WorkGroupName,
            Description = "STEDI lakehouse queries; result location and encryption are enforced",
            State = "ENABLED",
            // Lets `cdk destroy` delete the workgroup together with its saved queries and history.
            RecursiveDeleteOption = true,
            WorkGroupConfiguration = new CfnWorkGroup.WorkGroupConfigurationProperty
            {
                EnforceWorkGroupConfiguration = true,
                PublishCloudWatchMetricsEnabled = true,
                EngineVersion = new CfnWorkGroup.EngineVersionProperty { SelectedEngineVersion = "Athena engine version 3" },
                ResultConfiguration = new CfnWorkGroup.ResultConfigurationProperty
                {
                    OutputLocation = $"s3://{ResultsBucket.BucketName}/results/",
                    EncryptionConfiguration = new CfnWorkGroup.EncryptionConfigurationProperty { EncryptionOption = "SSE_S3" },
                },
            },
        });

        foreach (var q in NamedQueries.For(config.Profile))
        {
            var nq = new CfnNamedQuery(this, $"Query{StorageStack.Pascal(q.Name)}", new CfnNamedQueryProps
            {
                Name = q.Name,
                Description = q.Description,
                Database = config.GlueDatabaseName,
                WorkGroup = WorkGroup.Ref,
                QueryString = q.Sql,
            });
            nq.AddDependency(Database);
        }

        var glue = $"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}";
        var workGroupArn = $"arn:{Aws.PARTITION}:athena:{Aws.REGION}:{Aws.ACCOUNT_ID}:workgroup/{config.WorkGroupName}";
        AthenaReaderPolicy = new ManagedPolicy(this, "AthenaReader", new ManagedPolicyProps
        {
            ManagedPolicyName = $"stedi-{config.Stage}-athena-reader-{Aws.REGION}",
            Description = $"Query the STEDI published tables in workgroup {config.WorkGroupName}",
            Statements =
            [
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "RunQueriesInWorkGroup",
                    Actions =
                    [
                        "athena:GetWorkGroup", "athena:StartQueryExecution", "athena:StopQueryExecution",
                        "athena:GetQueryExecution", "athena:GetQueryResults", "athena:ListQueryExecutions",
                        "athena:ListNamedQueries", "athena:GetNamedQuery", "athena:BatchGetNamedQuery",
                    ],
                    Resources = [workGroupArn],
                }),
                // Athena reads table definitions from Glue; with partition projection it never asks for partitions.
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "ReadCatalog",
                    Actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables"],
                    Resources =
                    [
                        $"{glue}:catalog", $"{glue}:database/{config.GlueDatabaseName}",
                        .. Tables.Published(config.Profile).Select(t => $"{glue}:table/{config.GlueDatabaseName}/{t.Name}"),
                    ],
                }),
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "ReadPublishedZones",
                    Actions = ["s3:GetObject"],
                    Resources = [$"{storage.LakeBucket.BucketArn}/{Topology.TrustedRoot}*", $"{storage.LakeBucket.BucketArn}/{Topology.CuratedRoot}*"],
                }),
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "ListPublishedZones",
                    Actions = ["s3:ListBucket"],
                    Resources = [storage.LakeBucket.BucketArn],
                    Conditions = new Dictionary<string, object>
                    {
                        ["StringLike"] = new Dictionary<string, object> { ["s3:prefix"] = new[] { $"{Topology.TrustedRoot}*", $"{Topology.CuratedRoot}*" } },
                    },
                }),
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "LocateBuckets",
                    Actions = ["s3:GetBucketLocation"],
                    Resources = [storage.LakeBucket.BucketArn, ResultsBucket.BucketArn],
                }),
                StorageStack.DecryptViaS3(storage.LakeKey.KeyArn, "DecryptPublishedObjects", write: false),
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "WriteAndReadQueryResults",
                    Actions = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    Resources = [$"{ResultsBucket.BucketArn}/results/*"],
                }),
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "ListQueryResults",
                    Actions = ["s3:ListBucket"],
                    Resources = [ResultsBucket.BucketArn],
                }),
            ],
        });

        new CfnOutput(this, "GlueDatabaseName", new CfnOutputProps { Value = config.GlueDatabaseName });
        new CfnOutput(this, "AthenaReaderPolicyArn", new CfnOutputProps { Value = AthenaReaderPolicy.ManagedPolicyArn, Description = "Attach to the roles or groups that query the tables" });
        new CfnOutput(this, "AthenaWorkGroup", new CfnOutputProps { Value = WorkGroup.Ref });
    }

    /// <summary>First hour of the <c>reading_hour</c> projection: <see cref="Deployment.GlueTables.ReadingHourProjectionStart"/>.</summary>
    public const string ReadingHourProjectionStart = Deployment.GlueTables.ReadingHourProjectionStart;

    /// <summary>The CloudFormation <c>TableInput</c> of a table the deployment declares (<see cref="Deployment.GlueTables.Definition"/>,
    /// which the emulated deployment creates too): a field-for-field copy, nothing decided here.</summary>
    public static CfnTable.TableInputProperty TableInput(GlueTableDefinition table)
    {
        ArgumentNullException.ThrowIfNull(table);
        static CfnTable.ColumnProperty Column(GlueColumnDefinition c) => new() { Name = c.Name, Type = c.Type, Comment = c.Comment };
        return new CfnTable.TableInputProperty
        {
            Name = table.Name,
            Description = table.Description,
            TableType = table.TableType,
            Parameters = table.Parameters.ToDictionary(p => p.Key, p => (object)p.Value),
            PartitionKeys = table.PartitionKeys.Select(c => (object)Column(c)).ToArray(),
            StorageDescriptor = new CfnTable.StorageDescriptorProperty
            {
                Location = table.Location,
                InputFormat = table.InputFormat,
                OutputFormat = table.OutputFormat,
                SerdeInfo = new CfnTable.SerdeInfoProperty
                {
                    SerializationLibrary = table.SerializationLibrary,
                    Parameters = table.SerDeParameters.ToDictionary(p => p.Key, p => (object)p.Value),
                },
                Columns = table.Columns.Select(c => (object)Column(c)).ToArray(),
            },
        };
    }
}
