using System.Globalization;
using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Tests.Oracle;

/// <summary>
/// An independent batch implementation of docs/ARCHITECTURE.md §2, written plainly with LINQ over System.Text.Json: it reads every
/// landing file at once and computes the five published tables of a profile. It shares no code with the pipeline's
/// reader, consent policy or refiner (only the <see cref="ConsentProfile"/> enum).
/// </summary>
public static class BatchOracle
{
    public static readonly string[] CustomerColumns =
    [
        "customerName", "email", "phone", "birthDay", "serialNumber", "registrationDate", "lastUpdateDate",
        "shareWithResearchAsOfDate", "shareWithPublicAsOfDate", "shareWithFriendsAsOfDate", "extra_fields",
    ];

    public static readonly string[] AccelerometerColumns = ["user", "timestamp", "x", "y", "z", "extra_fields"];
    public static readonly string[] StepTrainerColumns = ["sensorReadingTime", "serialNumber", "distanceFromObject", "extra_fields"];
    public static readonly string[] MlStrictColumns = ["sensorReadingTime", "serialNumber", "distanceFromObject", "timestamp", "x", "y", "z"];
    public static readonly string[] MlRubricColumns = [.. MlStrictColumns, "user"];

    /// <summary>The output columns of each table (partition columns excluded).</summary>
    public static IReadOnlyDictionary<string, string[]> Columns(ConsentProfile profile) => new Dictionary<string, string[]>
    {
        ["customer_trusted"] = CustomerColumns,
        ["accelerometer_trusted"] = AccelerometerColumns,
        ["customer_curated"] = CustomerColumns,
        ["step_trainer_trusted"] = StepTrainerColumns,
        ["machine_learning_curated"] = profile == ConsentProfile.Rubric ? MlRubricColumns : MlStrictColumns,
    };

    public static readonly string[] TableNames =
        ["customer_trusted", "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"];

    private static readonly string[] CustomerFields = CustomerColumns[..10];

    // ------------------------------------------------------------------ records

    public sealed record Customer(
        string? CustomerName, string Email, string? Phone, string? BirthDay, string? SerialNumber,
        long? RegistrationDate, long? LastUpdateDate, long? ShareWithResearchAsOfDate, long? ShareWithPublicAsOfDate,
        long? ShareWithFriendsAsOfDate, string? ExtraFields, bool ResearchPresentNotNull)
    {
        public string Key => Email.Trim().ToLowerInvariant();

        public object?[] Row => [CustomerName, Email, Phone, BirthDay, SerialNumber, RegistrationDate, LastUpdateDate,
            ShareWithResearchAsOfDate, ShareWithPublicAsOfDate, ShareWithFriendsAsOfDate, ExtraFields];

        /// <summary>The ten fields, absent = null, as compact JSON with sorted keys.</summary>
        public string Canonical
        {
            get
            {
                var values = new SortedDictionary<string, object?>(StringComparer.Ordinal);
                var row = Row;
                for (var i = 0; i < CustomerFields.Length; i++) values[CustomerFields[i]] = row[i];
                return JsonSerializer.Serialize(values);
            }
        }
    }

    public sealed record Accel(string User, long Timestamp, double X, double Y, double Z, string? ExtraFields)
    {
        public object?[] Row => [User, Timestamp, X, Y, Z, ExtraFields];
    }

    public sealed record Step(long SensorReadingTime, string SerialNumber, long DistanceFromObject, string? ExtraFields)
    {
        public object?[] Row => [SensorReadingTime, SerialNumber, DistanceFromObject, ExtraFields];
    }

    public sealed record Landing(List<Customer> Customers, List<Accel> Accelerometer, List<Step> Steps);

    // ------------------------------------------------------------------ reading

    public static Landing Read(string landingDir)
    {
        var landing = new Landing([], [], []);
        foreach (var line in Lines(Path.Combine(landingDir, "customer")))
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            var email = Str(o, "email");
            if (email is null) continue;
            var research = o.TryGetProperty("shareWithResearchAsOfDate", out var r) && r.ValueKind != JsonValueKind.Null;
            landing.Customers.Add(new Customer(
                Str(o, "customerName"), email, Str(o, "phone"), Str(o, "birthDay"), Str(o, "serialNumber"),
                Long(o, "registrationDate"), Long(o, "lastUpdateDate"), Long(o, "shareWithResearchAsOfDate"),
                Long(o, "shareWithPublicAsOfDate"), Long(o, "shareWithFriendsAsOfDate"), Extra(o, CustomerFields), research));
        }
        foreach (var line in Lines(Path.Combine(landingDir, "accelerometer")))
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            landing.Accelerometer.Add(new Accel(Str(o, "user")!, Long(o, "timestamp")!.Value,
                o.GetProperty("x").GetDouble(), o.GetProperty("y").GetDouble(), o.GetProperty("z").GetDouble(),
                Extra(o, ["user", "timestamp", "x", "y", "z"])));
        }
        foreach (var line in Lines(Path.Combine(landingDir, "step_trainer")))
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            landing.Steps.Add(new Step(Long(o, "sensorReadingTime")!.Value, Str(o, "serialNumber")!,
                Long(o, "distanceFromObject")!.Value, Extra(o, ["sensorReadingTime", "serialNumber", "distanceFromObject"])));
        }
        return landing;
    }

    private static IEnumerable<string> Lines(string dir) =>
        Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .SelectMany(File.ReadLines).Where(l => !string.IsNullOrWhiteSpace(l))
            : [];

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Long(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (v.TryGetInt64(out var l)) return l;
            var d = v.GetDouble();
            return Math.Floor(d) == d ? (long)d : null;
        }
        if (v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s && s.All(char.IsAsciiDigit))
            return long.Parse(s, CultureInfo.InvariantCulture);
        return null;
    }

    private static string? Extra(JsonElement o, string[] known)
    {
        var extra = o.EnumerateObject().Where(p => !known.Contains(p.Name)).ToList();
        if (extra.Count == 0) return null;
        var sb = new StringBuilder("{");
        sb.AppendJoin(',', extra.Select(p => JsonSerializer.Serialize(p.Name) + ":" + p.Value.GetRawText()));
        return sb.Append('}').ToString();
    }

    // ------------------------------------------------------------------ tables

    /// <summary>The five tables of a profile: name → rows in <see cref="Columns"/> order.</summary>
    public static Dictionary<string, List<object?[]>> Compute(string landingDir, ConsentProfile profile) =>
        Compute(Read(landingDir), profile);

    public static Dictionary<string, List<object?[]>> Compute(Landing landing, ConsentProfile profile) =>
        profile == ConsentProfile.Rubric ? Rubric(landing) : Strict(landing);

    /// <summary>strict: the latest record per trimmed, lower-cased email (tie: greatest canonical JSON).</summary>
    public static Dictionary<string, Customer> StrictWinners(Landing landing) =>
        landing.Customers.GroupBy(c => c.Key).ToDictionary(
            g => g.Key,
            g => g.OrderByDescending(c => c.LastUpdateDate ?? long.MinValue)
                  .ThenByDescending(c => c.Canonical, StringComparer.Ordinal).First());

    private static bool StrictConsent(Customer c) => c.ShareWithResearchAsOfDate is > 0;

    private static Dictionary<string, List<object?[]>> Strict(Landing landing)
    {
        var winners = StrictWinners(landing);
        var trusted = winners.Values.Where(StrictConsent).ToDictionary(c => c.Key);

        // strict publishes the email (and the reading's user) in the form its joins use: trimmed and lower-cased.
        var accelTrusted = landing.Accelerometer
            .Where(a => trusted.TryGetValue(a.User.Trim().ToLowerInvariant(), out var c) && a.Timestamp >= c.ShareWithResearchAsOfDate)
            .Select(a => a with { User = a.User.Trim().ToLowerInvariant() })
            .Distinct()
            .ToList();
        var keysWithReadings = accelTrusted.Select(a => a.User.Trim().ToLowerInvariant()).ToHashSet();
        var curated = trusted.Values.Where(c => keysWithReadings.Contains(c.Key)).ToDictionary(c => c.Key);

        // Owners of a serial: every customer whose winning record carries it, consenting or not.
        var owners = winners.Values.Where(c => c.SerialNumber is not null)
            .GroupBy(c => c.SerialNumber!).ToDictionary(g => g.Key, g => g.ToList());
        var moments = accelTrusted.Select(a => (Key: a.User.Trim().ToLowerInvariant(), a.Timestamp)).ToHashSet();

        var stepTrusted = landing.Steps.Where(s =>
        {
            if (!owners.TryGetValue(s.SerialNumber, out var own)) return false;
            var eligible = own.Where(c => curated.ContainsKey(c.Key) && s.SensorReadingTime >= c.ShareWithResearchAsOfDate).ToList();
            if (eligible.Count == 0) return false;
            // A serial shared with a customer who had not consented at that moment (never, or only later): keep only readings
            // matching an eligible owner's accelerometer reading that millisecond.
            var couldBeUnconsented = own.Any(c => !StrictConsent(c) || s.SensorReadingTime < c.ShareWithResearchAsOfDate);
            return !couldBeUnconsented || eligible.Any(c => moments.Contains((c.Key, s.SensorReadingTime)));
        }).Distinct().ToList();

        var ml = (from s in stepTrusted
                  join a in accelTrusted on s.SensorReadingTime equals a.Timestamp
                  where winners[a.User.Trim().ToLowerInvariant()].SerialNumber == s.SerialNumber
                  select new object?[] { s.SensorReadingTime, s.SerialNumber, s.DistanceFromObject, a.Timestamp, a.X, a.Y, a.Z }).ToList();

        return new Dictionary<string, List<object?[]>>
        {
            ["customer_trusted"] = trusted.Values.Select(c => (c with { Email = c.Key }).Row).ToList(),
            ["accelerometer_trusted"] = accelTrusted.Select(a => a.Row).ToList(),
            ["customer_curated"] = curated.Values.Select(c => (c with { Email = c.Key }).Row).ToList(),
            ["step_trainer_trusted"] = stepTrusted.Select(s => s.Row).ToList(),
            ["machine_learning_curated"] = ml,
        };
    }

    private static Dictionary<string, List<object?[]>> Rubric(Landing landing)
    {
        // The course's Glue jobs: every record counts, joins on email as written fan out.
        var trusted = landing.Customers.Where(c => c.ResearchPresentNotNull).ToList();
        var accelTrusted = (from a in landing.Accelerometer
                            join c in trusted on a.User equals c.Email
                            select a).ToList();
        var usersWithReadings = landing.Accelerometer.Select(a => a.User).ToHashSet();
        var curated = trusted.Where(c => usersWithReadings.Contains(c.Email)).Distinct().ToList();
        var stepTrusted = (from s in landing.Steps
                           join c in curated on s.SerialNumber equals c.SerialNumber
                           select s).ToList();
        var ml = (from s in stepTrusted
                  join a in accelTrusted on s.SensorReadingTime equals a.Timestamp
                  select new object?[] { s.SensorReadingTime, s.SerialNumber, s.DistanceFromObject, a.Timestamp, a.X, a.Y, a.Z, a.User }).ToList();
        return new Dictionary<string, List<object?[]>>
        {
            ["customer_trusted"] = trusted.Select(c => c.Row).ToList(),
            ["accelerometer_trusted"] = accelTrusted.Select(a => a.Row).ToList(),
            ["customer_curated"] = curated.Select(c => c.Row).ToList(),
            ["step_trainer_trusted"] = stepTrusted.Select(s => s.Row).ToList(),
            ["machine_learning_curated"] = ml,
        };
    }
}
