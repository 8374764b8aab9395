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

    /// <summary>The name of machine_learning_curated (its columns depend on the profile).</summary>
    public const string MachineLearningCuratedName = "machine_learning_curated";

    /// <summary>Column holding unknown landing fields verbatim as a JSON object string (schema drift), or null.</summary>
    public const string ExtraFields = "extra_fields";

    /// <summary>Staged-only column: 1-based line of the record's first line in its landing object.</summary>
    public const string LineNumber = "line_number";

    /// <summary>Customer columns (the ten STEDI fields, dates in epoch milliseconds) plus extra_fields.</summary>
    public static readonly IReadOnlyList<Column> CustomerColumns =
    [
        Fields.CustomerName, Fields.Email, Fields.Phone, Fields.BirthDay, Fields.CustomerSerialNumber, Fields.RegistrationDate,
        Fields.LastUpdateDate, Fields.ShareWithResearchAsOfDate, Fields.ShareWithPublicAsOfDate, Fields.ShareWithFriendsAsOfDate, Fields.Extra,
    ];

    /// <summary>Accelerometer columns: user (customer email), timestamp (epoch ms), x, y, z, extra_fields.</summary>
    public static readonly IReadOnlyList<Column> AccelerometerColumns = [Fields.User, Fields.Timestamp, Fields.X, Fields.Y, Fields.Z, Fields.Extra];

    /// <summary>Step Trainer columns: sensorReadingTime (epoch ms), serialNumber, distanceFromObject, extra_fields.</summary>
    public static readonly IReadOnlyList<Column> StepTrainerColumns = [Fields.SensorReadingTime, Fields.SerialNumber, Fields.DistanceFromObject, Fields.Extra];

    private static IReadOnlyList<Column> WithLine(IReadOnlyList<Column> cols) => [.. cols, Fields.LineNumber];

    /// <summary>Staged-only customer column: the raw JSON text of shareWithResearchAsOfDate when present and not null (the rubric profile's consent test), else null.</summary>
    public const string ConsentRaw = "consent_raw";

    /// <summary>Staged customers: every parsed landing record, one object per landing object and bucket.</summary>
    public static readonly TableSchema StagedCustomer = new("customer", Zone.Staged,
        [.. WithLine(CustomerColumns), Fields.ConsentRaw],
        EmailBucket, "every parsed customer landing record");
    /// <summary>Staged accelerometer readings, one object per landing object and hour.</summary>
    public static readonly TableSchema StagedAccelerometer = new("accelerometer", Zone.Staged, WithLine(AccelerometerColumns), ReadingHour, "every parsed accelerometer landing record");
    /// <summary>Staged Step Trainer readings, one object per landing object and hour.</summary>
    public static readonly TableSchema StagedStepTrainer = new("step_trainer", Zone.Staged, WithLine(StepTrainerColumns), ReadingHour, "every parsed step trainer landing record");

    /// <summary>
    /// The schema of a staged table's compacted objects: the staged columns plus the landing object id of each row
    /// (many landing objects' rows merged into one object, so that a recompute reads a few objects, not thousands).
    /// </summary>
    public static TableSchema Compacted(TableSchema staged) => staged.Name switch
    {
        "customer" => CompactedCustomer,
        "accelerometer" => CompactedAccelerometer,
        "step_trainer" => CompactedStepTrainer,
        _ => throw new ArgumentException($"'{staged.Name}' is not a staged table", nameof(staged)),
    };

    private static readonly TableSchema CompactedCustomer = new("customer", Zone.Staged, [.. StagedCustomer.Columns, Fields.ObjectId], EmailBucket, "compacted staged customers");
    private static readonly TableSchema CompactedAccelerometer = new("accelerometer", Zone.Staged, [.. StagedAccelerometer.Columns, Fields.ObjectId], ReadingHour, "compacted staged accelerometer readings");
    private static readonly TableSchema CompactedStepTrainer = new("step_trainer", Zone.Staged, [.. StagedStepTrainer.Columns, Fields.ObjectId], ReadingHour, "compacted staged step trainer readings");

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
    /// millisecond. The <c>strict</c> profile has no email column (docs/ARCHITECTURE.md §2 and §8); <c>rubric</c> keeps <c>user</c>.
    /// </summary>
    public static TableSchema MachineLearningCurated(ConsentProfile profile) => profile == ConsentProfile.Rubric ? MlRubric : MlStrict;

    private static readonly IReadOnlyList<Column> MlBase =
        [Fields.SensorReadingTime, Fields.SerialNumber, Fields.DistanceFromObject, Fields.Timestamp, Fields.X, Fields.Y, Fields.Z];

    private static readonly TableSchema MlStrict = new(MachineLearningCuratedName, Zone.Curated, MlBase, ReadingHour,
        "Step Trainer readings joined with accelerometer readings of the same millisecond and the same customer");
    private static readonly TableSchema MlRubric = new(MachineLearningCuratedName, Zone.Curated, [.. MlBase, Fields.User], ReadingHour,
        "Step Trainer readings joined with accelerometer readings of the same millisecond");

    /// <summary>The five published tables of a profile, in dependency order.</summary>
    public static IReadOnlyList<TableSchema> Published(ConsentProfile profile) =>
        [CustomerTrusted, AccelerometerTrusted, CustomerCurated, StepTrainerTrusted, MachineLearningCurated(profile)];

    /// <summary>Looks a published table up by name.</summary>
    /// <exception cref="ArgumentException">Unknown table name.</exception>
    public static TableSchema ByName(string name, ConsentProfile profile) =>
        Published(profile).FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"unknown table '{name}'", nameof(name));
}

/// <summary>
/// Every column of the lake, defined once: the STEDI landing JSON fields and the lake's own columns. Tables list
/// these objects; code finds a column's position with <see cref="TableSchema.Ordinal"/>, never by spelling its name.
/// </summary>
public static class Fields
{
    /// <summary>customerName.</summary>
    public static readonly Column CustomerName = new("customerName", ColumnType.String, true);
    /// <summary>email: the customer's e-mail (strict publishes it trimmed and lower-cased, the form the joins use; rubric as written).</summary>
    public static readonly Column Email = new("email", ColumnType.String, false, "customer email (strict: trimmed, lower-cased; rubric: as written)");
    /// <summary>phone.</summary>
    public static readonly Column Phone = new("phone", ColumnType.String, true);
    /// <summary>birthDay (kept as the text it was sent as).</summary>
    public static readonly Column BirthDay = new("birthDay", ColumnType.String, true);
    /// <summary>serialNumber of a customer record: the customer's Step Trainer.</summary>
    public static readonly Column CustomerSerialNumber = new("serialNumber", ColumnType.String, true, "Step Trainer serial");
    /// <summary>registrationDate, epoch ms.</summary>
    public static readonly Column RegistrationDate = new("registrationDate", ColumnType.Int64, true, "epoch milliseconds");
    /// <summary>lastUpdateDate, epoch ms (strict: the latest record of a customer wins).</summary>
    public static readonly Column LastUpdateDate = new("lastUpdateDate", ColumnType.Int64, true, "epoch milliseconds");
    /// <summary>shareWithResearchAsOfDate, epoch ms: research consent.</summary>
    public static readonly Column ShareWithResearchAsOfDate = new("shareWithResearchAsOfDate", ColumnType.Int64, true, "epoch milliseconds; research consent");
    /// <summary>shareWithPublicAsOfDate, epoch ms.</summary>
    public static readonly Column ShareWithPublicAsOfDate = new("shareWithPublicAsOfDate", ColumnType.Int64, true, "epoch milliseconds");
    /// <summary>shareWithFriendsAsOfDate, epoch ms.</summary>
    public static readonly Column ShareWithFriendsAsOfDate = new("shareWithFriendsAsOfDate", ColumnType.Int64, true, "epoch milliseconds");

    /// <summary>user: the customer e-mail of an accelerometer reading (strict publishes it trimmed and lower-cased).</summary>
    public static readonly Column User = new("user", ColumnType.String, false, "customer email (strict: trimmed, lower-cased; rubric: as written)");
    /// <summary>timestamp of an accelerometer reading, epoch ms.</summary>
    public static readonly Column Timestamp = new("timestamp", ColumnType.Int64, false, "epoch milliseconds");
    /// <summary>x acceleration.</summary>
    public static readonly Column X = new("x", ColumnType.Double, false);
    /// <summary>y acceleration.</summary>
    public static readonly Column Y = new("y", ColumnType.Double, false);
    /// <summary>z acceleration.</summary>
    public static readonly Column Z = new("z", ColumnType.Double, false);

    /// <summary>sensorReadingTime of a Step Trainer reading, epoch ms.</summary>
    public static readonly Column SensorReadingTime = new("sensorReadingTime", ColumnType.Int64, false, "epoch milliseconds");
    /// <summary>serialNumber of a Step Trainer reading.</summary>
    public static readonly Column SerialNumber = new("serialNumber", ColumnType.String, false);
    /// <summary>distanceFromObject of a Step Trainer reading.</summary>
    public static readonly Column DistanceFromObject = new("distanceFromObject", ColumnType.Int64, false,
        "distance in the sensor's unit; BIGINT so every value Athena reads back is exact");

    /// <summary>extra_fields: unknown landing fields verbatim as a JSON object string (schema drift), or null.</summary>
    public static readonly Column Extra = new(Tables.ExtraFields, ColumnType.String, true, "unknown landing fields, verbatim JSON object (schema drift)");
    /// <summary>Staged only: 1-based line of the record in its landing object.</summary>
    public static readonly Column LineNumber = new(Tables.LineNumber, ColumnType.Int64, false, "1-based line of the record in its landing object");
    /// <summary>Compacted staged objects only: the landing object id (16 hex digits) a row came from.</summary>
    public static readonly Column ObjectId = new("object_id", ColumnType.String, false, "landing object id (16 hex digits of SHA-256 of its key)");
    /// <summary>Staged customers only: the raw JSON of shareWithResearchAsOfDate when present and not null (rubric's consent test).</summary>
    public static readonly Column ConsentRaw = new(Tables.ConsentRaw, ColumnType.String, true, "raw shareWithResearchAsOfDate JSON when present and not null");
}
