using System.Text.Json;
using Stedi.Twin;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>The strict shared-serial rule when every owner of the serial consents (docs/ARCHITECTURE.md §2 restricts the rule to a serial shared with a non-consenting customer).</summary>
public sealed class SharedSerialTests(OrderFixture fixture) : IClassFixture<OrderFixture>
{
    // Both owners are curated and had consented by the time of the reading: whoever's it is, it may be used, so the
    // same-millisecond attribution rule does not apply and no reading after both consents is dropped.
    [Fact]
    public async Task Serial_shared_only_by_consenting_customers_keeps_every_reading_after_consent()
    {
        using var temp = new TempFolder();
        var landing = temp.Sub("landing");
        Repo.CopyLanding(fixture.Subset, landing);
        var data = BatchOracle.Read(landing);
        var winners = BatchOracle.StrictWinners(data);
        var curated = BatchOracle.Compute(data, ConsentProfile.Strict)["customer_curated"]
            .Select(r => ((string)r[1]!).Trim().ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();
        var stepSerials = data.Steps.Select(s => s.SerialNumber).ToHashSet();
        var a = winners[curated.First(k => stepSerials.Contains(winners[k].SerialNumber!))];
        var b = winners[curated.First(k => k != a.Key)];
        var later = data.Customers.Max(c => c.LastUpdateDate ?? 0) + 1_000;
        var line = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["customerName"] = b.CustomerName, ["email"] = b.Email, ["phone"] = b.Phone, ["birthDay"] = b.BirthDay,
            ["serialNumber"] = a.SerialNumber, ["registrationDate"] = b.RegistrationDate, ["lastUpdateDate"] = later,
            ["shareWithResearchAsOfDate"] = b.ShareWithResearchAsOfDate, ["shareWithPublicAsOfDate"] = b.ShareWithPublicAsOfDate,
            ["shareWithFriendsAsOfDate"] = b.ShareWithFriendsAsOfDate,
        });
        File.WriteAllLines(Path.Combine(landing, "customer", "customer-zz-shared.json"), [line]);

        using var run = await LakeRun.RunAsync(landing, temp.Sub("lake"), ConsentProfile.Strict, new ReplayOptions(), 1);
        var oracle = BatchOracle.Compute(landing, ConsentProfile.Strict);
        foreach (var table in BatchOracle.TableNames)
            Rows.AssertSameRows(table, Rows.Sorted(oracle[table]), Rows.Sorted(run.Read(table)));
    }
}
