namespace Stedi.Lakehouse.Schema;

/// <summary>
/// Every table of the lake: the three staged tables (one per landing source) and the five published tables of the
/// STEDI course (customer_trusted, accelerometer_trusted, customer_curated, step_trainer_trusted,
/// machine_learning_curated). Column names are the STEDI landing JSON field names.
/// </summary>
public static class Tables
{
    /// <summary>Partition column of reading tables: the UTC hour of the reading time, formatted <c>yyyy-MM-dd-HH</c>.</summary>
    public const string ReadingHour = "reading_hour";

    /// <summary>Partition column of customer tables: a two-digit hash bucket of the customer key (<c>00</c>..<c>15</c>).</summary>
    public const string EmailBucket = "email_bucket";

    /// <summary>Column holding unknown landing fields verbatim as a JSON object string (schema drift), or null.</summary>
    public const string ExtraFields = "extra_fields";

    /// <summary>Staged-only column: 1-based line of the record's first line in its landing object.</summary>
    public const string LineNumber = "line_number";

    private static Column Extra => new(ExtraFields, ColumnType.String, true, "unknown landing fields, verbatim JSON object (schema drift)");

    /// <summary>Customer columns (the ten STEDI fields, dates in epoch milliseconds) plus extra_fields.</summary>
    public static readonly IReadOnlyList<Column> CustomerColumns =
    [
        new("customerName", ColumnType.String, true),
        new("email", ColumnType.String, false, "as written in landing"),
        new("phone", ColumnType.String, true),
        new("birthDay", ColumnType.String, true),
        new("serialNumber", ColumnType.String, true, "Step Trainer serial"),
        new("registrationDate", ColumnType.Int64, true, "epoch milliseconds"),
        new("lastUpdateDate", ColumnType.Int64, true, "epoch milliseconds"),
        new("shareWithResearchAsOfDate", ColumnType.Int64, true, "epoch milliseconds; research consent"),
        new("shareWithPublicAsOfDate", ColumnType.Int64, true, "epoch milliseconds"),
        new("shareWithFriendsAsOfDate", ColumnType.Int64, true, "epoch milliseconds"),
        Extra,
    ];

    /// <summary>Accelerometer columns: user (customer email), timestamp (epoch ms), x, y, z, extra_fields.</summary>
    public static readonly IReadOnlyList<Column> AccelerometerColumns =
    [
        new("user", ColumnType.String, false, "customer email as written"),
        new("timestamp", ColumnType.Int64, false, "epoch milliseconds"),
        new("x", ColumnType.Double, false),
        new("y", ColumnType.Double, false),
        new("z", ColumnType.Double, false),
        Extra,
    ];

    /// <summary>Step Trainer columns: sensorReadingTime (epoch ms), serialNumber, distanceFromObject, extra_fields.</summary>
    public static readonly IReadOnlyList<Column> StepTrainerColumns =
    [
        new("sensorReadingTime", ColumnType.Int64, false, "epoch milliseconds"),
        new("serialNumber", ColumnType.String, false),
        new("distanceFromObject", ColumnType.Int64, false, "distance in the sensor's unit; BIGINT so every value Athena reads back is exact (case parquet-athena-types)"),
        Extra,
    ];

    private static IReadOnlyList<Column> WithLine(IReadOnlyList<Column> cols) =>
        [.. cols, new Column(LineNumber, ColumnType.Int64, false, "1-based line of the record in its landing object")];

    /// <summary>Staged-only customer column: the raw JSON text of shareWithResearchAsOfDate when present and not null (the rubric profile's consent test), else null.</summary>
    public const string ConsentRaw = "consent_raw";

    /// <summary>Staged customers: every parsed landing record, one object per landing object and bucket.</summary>
    public static readonly TableSchema StagedCustomer = new("customer", Zone.Staged,
        [.. WithLine(CustomerColumns), new Column(ConsentRaw, ColumnType.String, true, "raw shareWithResearchAsOfDate JSON when present and not null")],
        EmailBucket, "every parsed customer landing record");
    /// <summary>Staged accelerometer readings, one object per landing object and hour.</summary>
    public static readonly TableSchema StagedAccelerometer = new("accelerometer", Zone.Staged, WithLine(AccelerometerColumns), ReadingHour, "every parsed accelerometer landing record");
    /// <summary>Staged Step Trainer readings, one object per landing object and hour.</summary>
    public static readonly TableSchema StagedStepTrainer = new("step_trainer", Zone.Staged, WithLine(StepTrainerColumns), ReadingHour, "every parsed step trainer landing record");

    /// <summary>customer_trusted: customers who agreed to share data for research.</summary>
    public static readonly TableSchema CustomerTrusted = new("customer_trusted", Zone.Trusted, CustomerColumns, EmailBucket, "customers who agreed to share their data for research");
    /// <summary>accelerometer_trusted: accelerometer readings of consenting customers.</summary>
    public static readonly TableSchema AccelerometerTrusted = new("accelerometer_trusted", Zone.Trusted, AccelerometerColumns, ReadingHour, "accelerometer readings of customers who agreed to share data for research");
    /// <summary>customer_curated: trusted customers who have accelerometer data.</summary>
    public static readonly TableSchema CustomerCurated = new("customer_curated", Zone.Curated, CustomerColumns, EmailBucket, "trusted customers who have accelerometer data");
    /// <summary>step_trainer_trusted: Step Trainer readings of curated customers' devices.</summary>
    public static readonly TableSchema StepTrainerTrusted = new("step_trainer_trusted", Zone.Trusted, StepTrainerColumns, ReadingHour, "Step Trainer readings of curated customers' devices");

    /// <summary>
    /// machine_learning_curated: each Step Trainer reading joined with the accelerometer reading(s) of the same
    /// millisecond. The <c>strict</c> profile has no email column (DESIGN.md §2, §3.6); <c>rubric</c> keeps <c>user</c>.
    /// </summary>
    public static TableSchema MachineLearningCurated(ConsentProfile profile) => new(
        "machine_learning_curated", Zone.Curated,
        profile == ConsentProfile.Rubric
            ? [.. MlBase, new Column("user", ColumnType.String, false, "customer email of the accelerometer reading")]
            : MlBase,
        ReadingHour, "Step Trainer readings joined with accelerometer readings of the same millisecond");

    private static readonly IReadOnlyList<Column> MlBase =
    [
        new("sensorReadingTime", ColumnType.Int64, false, "epoch milliseconds"),
        new("serialNumber", ColumnType.String, false),
        new("distanceFromObject", ColumnType.Int64, false, "distance in the sensor's unit; BIGINT so every value Athena reads back is exact (case parquet-athena-types)"),
        new("timestamp", ColumnType.Int64, false, "epoch milliseconds of the accelerometer reading"),
        new("x", ColumnType.Double, false),
        new("y", ColumnType.Double, false),
        new("z", ColumnType.Double, false),
    ];

    /// <summary>The five published tables of a profile, in dependency order.</summary>
    public static IReadOnlyList<TableSchema> Published(ConsentProfile profile) =>
        [CustomerTrusted, AccelerometerTrusted, CustomerCurated, StepTrainerTrusted, MachineLearningCurated(profile)];

    /// <summary>Looks a published table up by name.</summary>
    /// <exception cref="ArgumentException">Unknown table name.</exception>
    public static TableSchema ByName(string name, ConsentProfile profile) =>
        Published(profile).FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"unknown table '{name}'", nameof(name));
}
