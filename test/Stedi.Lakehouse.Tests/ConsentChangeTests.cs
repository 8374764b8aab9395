using System.Text.Json;
using Stedi.Twin;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>
/// A later customer file (newer lastUpdateDate) that withdraws the research consent of one curated customer (whose
/// Step Trainer readings reach machine_learning_curated) and grants it to a previously non-consenting customer with
/// accelerometer readings, from before their first reading. The grant writes the email upper-cased, so the strict key
/// normalisation is exercised too. Expected tables: the oracle over every file including the new one.
/// </summary>
public sealed class ConsentChangeFixture : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly Dictionary<ConsentProfile, Dictionary<string, List<string>>> _oracle = [];

    public ConsentChangeFixture()
    {
        var landing = BatchOracle.Read(Repo.Landing);
        var winners = BatchOracle.StrictWinners(landing);
        var strict = BatchOracle.Compute(landing, ConsentProfile.Strict);
        var mlSerials = strict["machine_learning_curated"].Select(r => (string)r[1]!).ToHashSet(StringComparer.Ordinal);
        var curatedKeys = strict["customer_curated"].Select(r => ((string)r[1]!).Trim().ToLowerInvariant()).ToHashSet();
        var readingsByKey = landing.Accelerometer.GroupBy(a => a.User.Trim().ToLowerInvariant()).ToDictionary(g => g.Key, g => g.Min(a => a.Timestamp));
        var stepSerials = landing.Steps.Select(s => s.SerialNumber).ToHashSet(StringComparer.Ordinal);

        Withdrawn = winners.Values.Where(c => curatedKeys.Contains(c.Key) && c.SerialNumber is not null && mlSerials.Contains(c.SerialNumber))
            .OrderBy(c => c.Key, StringComparer.Ordinal).First();
        Granted = winners.Values.Where(c => c.ShareWithResearchAsOfDate is not > 0 && readingsByKey.ContainsKey(c.Key)
                                            && c.SerialNumber is not null && stepSerials.Contains(c.SerialNumber))
            .OrderBy(c => c.Key, StringComparer.Ordinal).First();
        var later = landing.Customers.Max(c => c.LastUpdateDate ?? 0) + 1_000;
        GrantedConsentTime = readingsByKey[Granted.Key] - 60_000;

        ChangeOnly = _temp.Sub("change-only");
        Directory.CreateDirectory(Path.Combine(ChangeOnly, "customer"));
        // Sorts before the original customer file, so a key-ordered replay delivers it first.
        var file = Path.Combine(ChangeOnly, "customer", "customer-0000000000001-consent-change.json");
        File.WriteAllLines(file,
        [
            Line(Withdrawn, Withdrawn.Email, later, research: null),
            Line(Granted, Granted.Email.ToUpperInvariant(), later, research: GrantedConsentTime),
        ]);
        All = _temp.Sub("all");
        Repo.CopyLanding(Repo.Landing, All);
        Repo.CopyLanding(ChangeOnly, All);
    }

    public BatchOracle.Customer Withdrawn { get; }
    public BatchOracle.Customer Granted { get; }
    public long GrantedConsentTime { get; }
    /// <summary>A landing folder holding only the new customer file.</summary>
    public string ChangeOnly { get; }
    /// <summary>The real data plus the new customer file.</summary>
    public string All { get; }

    public Dictionary<string, List<string>> Oracle(ConsentProfile profile)
    {
        lock (_oracle)
        {
            if (!_oracle.TryGetValue(profile, out var o))
                _oracle[profile] = o = BatchOracle.Compute(All, profile).ToDictionary(kv => kv.Key, kv => Rows.Sorted(kv.Value));
            return o;
        }
    }

    public string NewLake() => Path.Combine(_temp.Path, "lake-" + Guid.NewGuid().ToString("N"));

    private static string Line(BatchOracle.Customer c, string email, long lastUpdate, long? research) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["customerName"] = c.CustomerName, ["email"] = email, ["phone"] = c.Phone, ["birthDay"] = c.BirthDay,
            ["serialNumber"] = c.SerialNumber, ["registrationDate"] = c.RegistrationDate, ["lastUpdateDate"] = lastUpdate,
            ["shareWithResearchAsOfDate"] = research, ["shareWithPublicAsOfDate"] = c.ShareWithPublicAsOfDate,
            ["shareWithFriendsAsOfDate"] = c.ShareWithFriendsAsOfDate,
        });

    public void Dispose() => _temp.Dispose();
}

/// <summary>Guarantee 2: consent changes propagate to every table, whether the change arrives first or last.</summary>
public sealed class ConsentChangeTests(ConsentChangeFixture change) : IClassFixture<ConsentChangeFixture>
{
    public enum Arrival { First, Last }

    [Fact]
    public void Oracle_scenario_changes_every_strict_table()
    {
        var before = BatchOracle.Compute(Repo.Landing, ConsentProfile.Strict).ToDictionary(kv => kv.Key, kv => Rows.Sorted(kv.Value));
        var after = change.Oracle(ConsentProfile.Strict);
        foreach (var table in BatchOracle.TableNames)
            Assert.False(before[table].SequenceEqual(after[table]), $"{table}: the consent change should change it");
        var grantedKey = change.Granted.Key;
        // Granted under an upper-cased email; strict publishes the email as its joins use it (trimmed, lower-cased).
        Assert.Contains(after["customer_trusted"], r => r.Contains(JsonSerializer.Serialize(change.Granted.Key)));
        Assert.Contains(after["accelerometer_trusted"], r => r.ToLowerInvariant().Contains(JsonSerializer.Serialize(grantedKey)));
        Assert.Contains(after["machine_learning_curated"], r => r.Contains(JsonSerializer.Serialize(change.Granted.SerialNumber)));
    }

    [Theory]
    [InlineData(Arrival.First, ConsentProfile.Strict)]
    [InlineData(Arrival.Last, ConsentProfile.Strict)]
    [InlineData(Arrival.First, ConsentProfile.Rubric)]
    [InlineData(Arrival.Last, ConsentProfile.Rubric)]
    public async Task Consent_change_gives_the_oracle_tables_whether_it_arrives_first_or_last(Arrival arrival, ConsentProfile profile)
    {
        var lake = change.NewLake();
        try
        {
            var first = arrival == Arrival.First ? change.ChangeOnly : Repo.Landing;
            var second = arrival == Arrival.First ? Repo.Landing : change.ChangeOnly;
            // Two separate pipelines over the same lake: the second is a later `run --keep` of new files.
            using (await LakeRun.RunAsync(first, lake, profile, new ReplayOptions(ShuffleSeed: 7, Duplicate: true), 2, new Random(7))) { }
            using var run = await LakeRun.RunAsync(second, lake, profile, new ReplayOptions(ShuffleSeed: 8, Duplicate: true), 2, new Random(8));
            var tables = run.ReadAllSorted();
            var oracle = change.Oracle(profile);
            foreach (var table in BatchOracle.TableNames)
                Rows.AssertSameRows($"{arrival}/{profile} {table}", oracle[table], tables[table]);

            if (profile != ConsentProfile.Strict) return;
            // The withdrawn customer is nowhere: not by email in any customer or reading table, not by serial in the Step Trainer or ML tables.
            var key = change.Withdrawn.Key;
            foreach (var table in new[] { "customer_trusted", "customer_curated" })
                Assert.DoesNotContain(run.Read(table), r => ((string)r[1]!).Trim().ToLowerInvariant() == key);
            Assert.DoesNotContain(run.Read("accelerometer_trusted"), r => ((string)r[0]!).Trim().ToLowerInvariant() == key);
            Assert.DoesNotContain(run.Read("step_trainer_trusted"), r => (string)r[1]! == change.Withdrawn.SerialNumber);
            Assert.DoesNotContain(run.Read("machine_learning_curated"), r => (string)r[1]! == change.Withdrawn.SerialNumber);
            // The granted customer is in, with every reading since their consent.
            Assert.Contains(run.Read("customer_curated"), r => (string)r[1]! == change.Granted.Key);
            Assert.Contains(run.Read("machine_learning_curated"), r => (string)r[1]! == change.Granted.SerialNumber);
        }
        finally
        {
            try { Directory.Delete(lake, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
