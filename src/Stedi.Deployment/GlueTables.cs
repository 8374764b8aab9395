using Stedi.Lakehouse;
using Stedi.Lakehouse.Schema;

namespace Stedi.Deployment;

/// <summary>A column of a Glue table: name, Hive type, comment (null when none).</summary>
/// <param name="Name">Column name.</param>
/// <param name="Type">Hive type, e.g. <c>string</c>, <c>bigint</c>, <c>double</c>.</param>
/// <param name="Comment">Comment, or null.</param>
public sealed record GlueColumnDefinition(string Name, string Type, string? Comment);

/// <summary>
/// A Glue table as the deployment declares it — the fields of the Glue API's <c>TableInput</c>
/// (https://docs.aws.amazon.com/glue/latest/webapi/API_TableInput.html) that the STEDI tables use. The Catalog stack
/// turns it into an <c>AWS::Glue::Table</c> and the emulated deployment into a CreateTable call, so both declare the
/// same tables.
/// </summary>
/// <param name="Name">Table name.</param>
/// <param name="Description">Description, or null.</param>
/// <param name="TableType"><c>EXTERNAL_TABLE</c>.</param>
/// <param name="Parameters">Table parameters: classification and the partition projection.</param>
/// <param name="PartitionKeys">Partition columns.</param>
/// <param name="Columns">Data columns.</param>
/// <param name="Location">The table's S3 location, <c>s3://&lt;bucket&gt;/&lt;zone&gt;/&lt;table&gt;/</c>.</param>
/// <param name="InputFormat">Hadoop input format.</param>
/// <param name="OutputFormat">Hadoop output format.</param>
/// <param name="SerializationLibrary">SerDe class.</param>
/// <param name="SerDeParameters">SerDe parameters.</param>
public sealed record GlueTableDefinition(
    string Name, string? Description, string TableType, IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<GlueColumnDefinition> PartitionKeys, IReadOnlyList<GlueColumnDefinition> Columns, string Location,
    string InputFormat, string OutputFormat, string SerializationLibrary, IReadOnlyDictionary<string, string> SerDeParameters);

/// <summary>
/// The Glue tables of the published zones, generated from <see cref="Tables.Published(ConsentProfile)"/> (the one schema
/// definition; no crawler), with Athena partition projection over the partition key so that no partition is ever
/// registered and the functions make no Glue call.
/// </summary>
public static class GlueTables
{
    /// <summary>Hive SerDe of Parquet tables.</summary>
    public const string ParquetSerDe = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
    /// <summary>Hive input format of Parquet tables.</summary>
    public const string ParquetInputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
    /// <summary>Hive output format of Parquet tables.</summary>
    public const string ParquetOutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";

    /// <summary>First hour of the <c>reading_hour</c> projection (the STEDI readings start in 2022; 2015 leaves room
    /// for older devices' data). Athena enumerates every hour of the range that a query does not exclude.</summary>
    public const string ReadingHourProjectionStart = "2015-01-01-00";

    /// <summary>Last hour of the <c>reading_hour</c> projection: one day ahead of the query's time, as the ingest's
    /// default time window accepts readings up to now + 1 day (<c>TimeWindow.Default</c>); with <c>NOW</c> alone Athena
    /// would not see such readings until their hour came.</summary>
    public const string ReadingHourProjectionEnd = "NOW+1DAYS";

    /// <summary>The published tables of a profile, in <see cref="Tables.Published(ConsentProfile)"/> order.</summary>
    /// <param name="profile">Consent profile (it decides machine_learning_curated's columns).</param>
    /// <param name="lakeBucketName">The lake bucket (a CDK token in the stack).</param>
    public static IReadOnlyList<GlueTableDefinition> Published(ConsentProfile profile, string lakeBucketName) =>
        Tables.Published(profile).Select(t => Definition(t, lakeBucketName)).ToList();

    /// <summary>The Glue table of one published table: external Parquet table at <c>s3://&lt;lake&gt;/&lt;prefix&gt;</c>, its
    /// columns and types from the schema, a single string partition key resolved by partition projection
    /// (<see cref="ProjectionParameters"/>).</summary>
    /// <exception cref="ArgumentException">The table is partitioned by a key without a projection.</exception>
    public static GlueTableDefinition Definition(TableSchema schema, string lakeBucketName)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["classification"] = "parquet",
            ["EXTERNAL"] = "TRUE",
        };
        foreach (var (k, v) in ProjectionParameters(schema, lakeBucketName)) parameters[k] = v;
        return new GlueTableDefinition(
            schema.Name,
            string.IsNullOrEmpty(schema.Description) ? null : schema.Description,
            "EXTERNAL_TABLE",
            parameters,
            [new GlueColumnDefinition(schema.PartitionKey, "string", null)],
            schema.Columns.Select(c => new GlueColumnDefinition(c.Name, c.GlueType, string.IsNullOrEmpty(c.Comment) ? null : c.Comment)).ToList(),
            $"s3://{lakeBucketName}/{schema.Prefix}",
            ParquetInputFormat,
            ParquetOutputFormat,
            ParquetSerDe,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["serialization.format"] = "1" });
    }

    /// <summary>
    /// Athena partition projection for a table's single partition key
    /// (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html): <c>reading_hour</c> as a
    /// <c>date</c> in <c>yyyy-MM-dd-HH</c> (<see cref="Partitioning.ReadingHour"/>), one value per hour from
    /// <see cref="ReadingHourProjectionStart"/> to <see cref="ReadingHourProjectionEnd"/> (now + 1 day); <c>email_bucket</c> as an <c>integer</c> 0..15 written with
    /// two digits (<see cref="Partitioning.EmailBucket"/>); and <c>storage.location.template</c> naming the partition's
    /// folder. Athena then neither reads nor needs partitions in the Glue catalog.
    /// </summary>
    /// <exception cref="ArgumentException">The table is partitioned by a key without a projection.</exception>
    public static IReadOnlyDictionary<string, string> ProjectionParameters(TableSchema schema, string lakeBucketName)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var key = schema.PartitionKey;
        var p = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["projection.enabled"] = "true",
            ["storage.location.template"] = $"s3://{lakeBucketName}/{schema.Prefix}{key}=${{{key}}}/",
        };
        switch (key)
        {
            case Tables.ReadingHour:
                p[$"projection.{key}.type"] = "date";
                p[$"projection.{key}.format"] = "yyyy-MM-dd-HH";
                p[$"projection.{key}.range"] = $"{ReadingHourProjectionStart},{ReadingHourProjectionEnd}";
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
}
