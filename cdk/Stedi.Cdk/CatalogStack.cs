using Amazon.CDK;
using Amazon.CDK.AWS.Athena;
using Amazon.CDK.AWS.Glue;
using Amazon.CDK.AWS.S3;
using Constructs;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk;

/// <summary>
/// The query side: the Glue database and the five published tables generated from
/// <see cref="Tables.Published(ConsentProfile)"/> (the one schema definition; no crawler), the Athena results bucket,
/// a workgroup that enforces its result location and encryption, and named queries (row counts and spot checks).
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

    /// <summary>Creates the stack.</summary>
    /// <param name="scope">Parent construct.</param>
    /// <param name="id">Stack id.</param>
    /// <param name="config">Deployment settings.</param>
    /// <param name="lakeBucketName">Name of the lake bucket the tables point into.</param>
    /// <param name="accessLogBucket">Server access log bucket.</param>
    /// <param name="props">Stack properties.</param>
    public CatalogStack(Construct scope, string id, StediConfig config, string lakeBucketName, IBucket accessLogBucket, IStackProps? props = null)
        : base(scope, id, props)
    {
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

        new CfnOutput(this, "GlueDatabaseName", new CfnOutputProps { Value = config.GlueDatabaseName });
        new CfnOutput(this, "AthenaWorkGroup", new CfnOutputProps { Value = WorkGroup.Ref });
    }

    /// <summary>The Glue TableInput of one published table: external Parquet table at
    /// <c>s3://&lt;lake&gt;/&lt;prefix&gt;</c>, its columns and types from the schema, a single string partition key.</summary>
    public static CfnTable.TableInputProperty TableInput(TableSchema schema, string lakeBucketName) => new()
    {
        Name = schema.Name,
        Description = schema.Description,
        TableType = "EXTERNAL_TABLE",
        Parameters = new Dictionary<string, object>
        {
            ["classification"] = "parquet",
            ["EXTERNAL"] = "TRUE",
        },
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
