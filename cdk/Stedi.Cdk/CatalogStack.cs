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
/// The query side: the Glue database and the five published tables generated from
/// <see cref="Tables.Published(ConsentProfile)"/> (the one schema definition; no crawler) with Athena partition
/// projection, so no partition is ever registered and the functions make no Glue call; the Athena results bucket, a
/// workgroup that enforces its result location and encryption, named queries (row counts and spot checks), and the
/// managed policy that lets a principal query the tables.
/// </summary>
public sealed class CatalogStack : Stack
{
    /// <summary>Hive SerDe of Parquet tables.</summary>
    public const string ParquetSerDe = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
    /// <summary>Hive input format of Parquet tables.</summary>
    public const string ParquetInputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
    /// <summary>Hive output format of Parquet tables.</summary>
    public const string ParquetOutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";

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
        foreach (var schema in Tables.Published(config.Profile))
        {
            var table = new CfnTable(this, $"Table{StorageStack.Pascal(schema.Name)}", new CfnTableProps
            {
                CatalogId = Aws.ACCOUNT_ID,
                DatabaseName = config.GlueDatabaseName,
                TableInput = TableInput(schema, lakeBucketName),
            });
            table.AddDependency(Database);
            tables[schema.Name] = table;
        }
        GlueTables = tables;

        ResultsBucket = new Bucket(this, "AthenaResults", new BucketProps
        {
            BucketName = config.ResultsBucket,
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            ServerAccessLogsBucket = accessLogBucket,
            ServerAccessLogsPrefix = "athena-results/",
            LifecycleRules = [new LifecycleRule { Id = "expire-results", Expiration = Duration.Days(30) }],
            RemovalPolicy = config.IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        });

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

    /// <summary>First hour of the <c>reading_hour</c> projection (the STEDI readings start in 2022; 2015 leaves room
    /// for older devices' data). Athena enumerates every hour of the range that a query does not exclude.</summary>
    public const string ReadingHourProjectionStart = "2015-01-01-00";

    /// <summary>
    /// Athena partition projection for a table's single partition key
    /// (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html): <c>reading_hour</c> as a
    /// <c>date</c> in <c>yyyy-MM-dd-HH</c> (<see cref="Partitioning.ReadingHour"/>), one value per hour from
    /// <see cref="ReadingHourProjectionStart"/> to <c>NOW</c>; <c>email_bucket</c> as an <c>integer</c> 0..15 written with
    /// two digits (<see cref="Partitioning.EmailBucket"/>); and <c>storage.location.template</c> naming the partition's
    /// folder. Athena then neither reads nor needs partitions in the Glue catalog.
    /// </summary>
    /// <exception cref="ArgumentException">The table is partitioned by a key without a projection.</exception>
    public static Dictionary<string, object> ProjectionParameters(TableSchema schema, string lakeBucketName)
    {
        var key = schema.PartitionKey;
        var p = new Dictionary<string, object>
        {
            ["projection.enabled"] = "true",
            ["storage.location.template"] = $"s3://{lakeBucketName}/{schema.Prefix}{key}=${{{key}}}/",
        };
        switch (key)
        {
            case Tables.ReadingHour:
                p[$"projection.{key}.type"] = "date";
                p[$"projection.{key}.format"] = "yyyy-MM-dd-HH";
                p[$"projection.{key}.range"] = $"{ReadingHourProjectionStart},NOW";
                p[$"projection.{key}.interval"] = "1";
                p[$"projection.{key}.interval.unit"] = "HOURS";
                break;
            case Tables.EmailBucket:
                p[$"projection.{key}.type"] = "integer";
                p[$"projection.{key}.range"] = $"0,{Partitioning.EmailBuckets - 1}";
                p[$"projection.{key}.digits"] = "2";
                break;
            default:
                throw new ArgumentException($"table {schema.Name}: no partition projection for key '{key}'", nameof(schema));
        }
        return p;
    }

    /// <summary>The Glue TableInput of one published table: external Parquet table at
    /// <c>s3://&lt;lake&gt;/&lt;prefix&gt;</c>, its columns and types from the schema, a single string partition key
    /// resolved by partition projection (<see cref="ProjectionParameters"/>).</summary>
    public static CfnTable.TableInputProperty TableInput(TableSchema schema, string lakeBucketName)
    {
        var parameters = new Dictionary<string, object>
        {
            ["classification"] = "parquet",
            ["EXTERNAL"] = "TRUE",
        };
        foreach (var (k, v) in ProjectionParameters(schema, lakeBucketName)) parameters[k] = v;
        return new CfnTable.TableInputProperty
        {
            Name = schema.Name,
            Description = schema.Description,
            TableType = "EXTERNAL_TABLE",
            Parameters = parameters,
            PartitionKeys = new object[] { new CfnTable.ColumnProperty { Name = schema.PartitionKey, Type = "string" } },
            StorageDescriptor = new CfnTable.StorageDescriptorProperty
            {
                Location = $"s3://{lakeBucketName}/{schema.Prefix}",
                InputFormat = ParquetInputFormat,
                OutputFormat = ParquetOutputFormat,
                SerdeInfo = new CfnTable.SerdeInfoProperty
                {
                    SerializationLibrary = ParquetSerDe,
                    Parameters = new Dictionary<string, object> { ["serialization.format"] = "1" },
                },
                Columns = schema.Columns.Select(c => (object)new CfnTable.ColumnProperty
                {
                    Name = c.Name,
                    Type = c.GlueType,
                    Comment = string.IsNullOrEmpty(c.Comment) ? null : c.Comment,
                }).ToArray(),
            },
        };
    }
}
