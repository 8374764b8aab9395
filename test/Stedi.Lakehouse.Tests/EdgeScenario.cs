using System.Text.Json;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>
/// Builds landing folders for the permutation tests from the real data: a small deterministic subset cut into many
/// objects (more events to permute), and the same subset plus two later files that exercise every strict rule the
/// real data leaves untouched: a withdrawal, a grant under an upper-cased email, a lastUpdateDate tie broken by the
/// canonical form, a serial shared with a non-consenting customer, readings whose user differs only in case and
/// whitespace, and exact duplicate readings.
/// </summary>
public static class EdgeScenario
{
    /// <summary>The customers the later files change.</summary>
    public sealed record EdgeCustomers(BatchOracle.Customer Withdrawn, BatchOracle.Customer Granted, BatchOracle.Customer Tie,
        BatchOracle.Customer SharedOwner, BatchOracle.Customer CoOwner, BatchOracle.Customer ReadingsUser);

    /// <summary>Customer file split in two; the first 3,000 lines of the first two accelerometer files and the first 4,000 of the first Step Trainer file, in 1,000/2,000-line objects.</summary>
    public static void WriteSubset(string target)
    {
        var customer = Directory.GetFiles(Path.Combine(Repo.Landing, "customer")).Order(StringComparer.Ordinal).Single();
        var lines = File.ReadAllLines(customer).Where(l => l.Trim().Length > 0).ToArray();
        Write(target, "customer/customer-a.json", lines[..(lines.Length / 2)]);
        Write(target, "customer/customer-b.json", lines[(lines.Length / 2)..]);
        var accel = Directory.GetFiles(Path.Combine(Repo.Landing, "accelerometer")).Order(StringComparer.Ordinal).Take(2).ToList();
        for (var f = 0; f < accel.Count; f++)
        {
            var a = File.ReadLines(accel[f]).Take(3000).ToArray();
            for (var c = 0; c < 3; c++) Write(target, $"accelerometer/accelerometer-{f}-{c}.json", a[(c * 1000)..((c + 1) * 1000)]);
        }
        var step = File.ReadLines(Directory.GetFiles(Path.Combine(Repo.Landing, "step_trainer")).Order(StringComparer.Ordinal).First()).Take(4000).ToArray();
        Write(target, "step_trainer/step_trainer-0.json", step[..2000]);
        Write(target, "step_trainer/step_trainer-1.json", step[2000..]);
    }

    /// <summary>Adds the later customer file and the variant accelerometer file to a landing folder (computed from what it holds).</summary>
    public static EdgeCustomers WriteChanges(string landingDir)
    {
        var landing = BatchOracle.Read(landingDir);
        var winners = BatchOracle.StrictWinners(landing);
        var strict = BatchOracle.Compute(landing, ConsentProfile.Strict);
        var mlSerials = strict["machine_learning_curated"].Select(r => (string)r[1]!).ToHashSet(StringComparer.Ordinal);
        var curated = strict["customer_curated"].Select(r => ((string)r[1]!).Trim().ToLowerInvariant()).ToHashSet();
        var withReadings = landing.Accelerometer.GroupBy(a => a.User.Trim().ToLowerInvariant()).ToDictionary(g => g.Key, g => g.Min(a => a.Timestamp));
        var later = landing.Customers.Max(c => c.LastUpdateDate ?? 0) + 1_000;

        var curatedWithMl = winners.Values.Where(c => curated.Contains(c.Key) && c.SerialNumber is not null && mlSerials.Contains(c.SerialNumber))
            .OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        var nonConsenting = winners.Values.Where(c => c.ShareWithResearchAsOfDate is not > 0).OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        if (curatedWithMl.Count < 4 || nonConsenting.Count < 2) throw new InvalidOperationException("subset too small for the edge scenario");

        var withdrawn = curatedWithMl[0];
        var tie = curatedWithMl[1];
        var sharedOwner = curatedWithMl[2];
        var readingsUser = curatedWithMl[3];
        var granted = nonConsenting.FirstOrDefault(c => withReadings.ContainsKey(c.Key)) ?? nonConsenting[0];
        var coOwner = nonConsenting.First(c => c.Key != granted.Key);
        var grantTime = withReadings.TryGetValue(granted.Key, out var first) ? first - 60_000 : later;

        var customers = new List<string>
        {
            Line(withdrawn, withdrawn.Email, later, null, withdrawn.SerialNumber, withdrawn.Phone),
            Line(granted, granted.Email.ToUpperInvariant(), later, grantTime, granted.SerialNumber, granted.Phone),
            // A tie on lastUpdateDate: the greater canonical form (phone ...9 > ...0) wins, and it withdraws consent.
            Line(tie, tie.Email, later, tie.ShareWithResearchAsOfDate, tie.SerialNumber, "0000000000"),
            Line(tie, tie.Email, later, null, tie.SerialNumber, "9999999999"),
            // A non-consenting customer now carries a consenting customer's serial.
            Line(coOwner, coOwner.Email, later, coOwner.ShareWithResearchAsOfDate, sharedOwner.SerialNumber, coOwner.Phone),
        };
        Write(landingDir, "customer/customer-zz-later.json", customers);

        var readings = landing.Accelerometer.Where(a => a.User.Trim().ToLowerInvariant() == readingsUser.Key && a.Timestamp >= readingsUser.ShareWithResearchAsOfDate).OrderBy(a => a.Timestamp).Take(6).ToList();
        var variant = new List<string>();
        for (var i = 0; i < readings.Count; i++)
        {
            var a = readings[i];
            var user = (i % 3) switch { 0 => a.User.ToUpperInvariant(), 1 => " " + a.User + " ", _ => a.User };
            variant.Add(JsonSerializer.Serialize(new { user, timestamp = a.Timestamp, x = a.X, y = a.Y, z = a.Z }));
        }
        Write(landingDir, "accelerometer/accelerometer-zz-variant.json", variant);
        return new EdgeCustomers(withdrawn, granted, tie, sharedOwner, coOwner, readingsUser);
    }

    private static string Line(BatchOracle.Customer c, string email, long lastUpdate, long? research, string? serial, string? phone) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["customerName"] = c.CustomerName, ["email"] = email, ["phone"] = phone, ["birthDay"] = c.BirthDay,
            ["serialNumber"] = serial, ["registrationDate"] = c.RegistrationDate, ["lastUpdateDate"] = lastUpdate,
            ["shareWithResearchAsOfDate"] = research, ["shareWithPublicAsOfDate"] = c.ShareWithPublicAsOfDate,
            ["shareWithFriendsAsOfDate"] = c.ShareWithFriendsAsOfDate,
        });

    private static void Write(string root, string rel, IEnumerable<string> lines)
    {
        var path = Path.Combine(root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
    }
}
