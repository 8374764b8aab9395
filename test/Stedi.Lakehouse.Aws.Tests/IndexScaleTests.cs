using System.Diagnostics;
using Amazon.DynamoDBv2.Model;
using Xunit.Abstractions;

namespace Stedi.Lakehouse.Aws.Tests;

// Inside the namespace so that the Index types win over the old Ports types of the global usings.
using Stedi.Lakehouse.Index;

/// <summary>
/// Issue 10's scale case on moto: 5,000 versions of one customer, 30,000 hours of one user (membership and trusted
/// counts) and a landing object spanning 3,000 hours are written and read back, and no item of the table reaches
/// 100 KB (a quarter of DynamoDB's 400 KB item limit) — nothing grows with history.
/// </summary>
public sealed class IndexScaleTests(MotoLake moto, ITestOutputHelper output) : IClassFixture<MotoLake>
{
    private const int Versions = 5_000;
    private const int UserHours = 30_000;
    private const int ObjectHours = 3_000;
    private const long ItemBound = 100 * 1024;

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    [Fact]
    public async Task Five_thousand_versions_thirty_thousand_hours_and_a_three_thousand_hour_object_keep_every_item_small()
    {
        var lake = moto.Lake;
        using var requests = new RequestCounter(lake.DynamoDb);
        var keys = HmacCustomerKeys.FromText("a test secret of the scale test");
        string customer = keys.KeyOf("big@example.com"), user = keys.KeyOf("user@example.com"), serial = "serial-0001";

        // 5,000 versions of one customer, half of them carrying a serial.
        var versions = Enumerable.Range(0, Versions)
            .Select(i => new CustomerVersion(customer, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))),
                i % 2 == 0 ? serial : null, 1_655_564_376_000L + i, i % 3 == 0, i % 3 == 0 ? 1_655_564_376_000L + i : null,
                $"{{\"birthDay\":\"1950-01-01\",\"customerName\":\"Big Customer\",\"email\":\"big@example.com\",\"n\":{i},\"phone\":\"8015551212\",\"registrationDate\":1655564376000}}"))
            .ToList();
        await lake.Customers.PutVersionsAsync(versions);
        Step("put 5,000 versions", requests);
        Assert.Equal(versions.OrderBy(v => v.VersionId, StringComparer.Ordinal), await lake.Customers.GetVersionsAsync([customer]));
        Step("read 5,000 versions", requests);
        Assert.Equal([(serial, customer)], await lake.Customers.GetCustomersBySerialAsync([serial]));
        var bySerial = Step("serial look-up over 2,500 versions", requests);
        Assert.True(bySerial["Query"] <= 2, $"{bySerial["Query"]} queries");

        // 30,000 hours of one user: membership through the port. Trusted counts: 300 hours through the port, and
        // 29,700 written as the port writes them (its own item builders, BatchWriteItem) — 30,000 replaces through the
        // port would be 120,000 requests, half an hour of moto, for the same items.
        var hours = Enumerable.Range(0, UserHours).Select(Hour).ToList();
        await lake.Partitions.AddMembershipAsync([.. hours.Select(h => new PartitionMembership(MemberKind.Customer, user, h))]);
        Step("add 30,000 membership facts", requests);
        await DynamoDbTable.ForEachAsync(hours.Take(300).ToList(), async (h, _) =>
        {
            await lake.Partitions.ReplaceTrustedCountsAsync(h, new Dictionary<string, long> { [user] = 7, [customer] = 0 });
            return 0;
        }, CancellationToken.None);
        Step("replace trusted counts of 300 hours", requests);
        await new DynamoDbTable(lake.DynamoDb, lake.Config.IndexTable).WriteAsync(hours.Skip(300).SelectMany(h => new[]
        {
            DynamoDbTable.Put(DynamoDbPartitionIndex.CountItem(h, user, 7, pending: false)),
            DynamoDbTable.Put(DynamoDbPartitionIndex.KeysOnly(DynamoDbPartitionIndex.ReversePk(user), h)),
        }), CancellationToken.None);
        Step("seed trusted counts of 29,700 hours", requests);

        Assert.Equal(hours, await lake.Partitions.GetPartitionsAsync(MemberKind.Customer, [user]));
        Step("read 30,000 hours", requests);
        Assert.Equal(new HashSet<string> { user }, await lake.Partitions.GetCustomersWithTrustedReadingsAsync([user, customer]));
        var trusted = Step("customers with trusted readings (2 keys)", requests);
        Assert.Equal(new Dictionary<string, int> { ["Query"] = 2 }, trusted);
        Assert.Equal(new Dictionary<string, long> { [user] = 7, [customer] = 0 }, await lake.Partitions.GetTrustedCountsAsync(hours[0]));
        Assert.Equal(new Dictionary<string, long> { [user] = 7 }, await lake.Partitions.GetTrustedCountsAsync(hours[^1]));
        // The user leaves the first 300 hours and keeps readings elsewhere; then leaves every hour written through the port.
        await DynamoDbTable.ForEachAsync(hours.Take(300).ToList(), async (h, _) =>
        {
            await lake.Partitions.ReplaceTrustedCountsAsync(h, new Dictionary<string, long> { [customer] = 0 });
            return 0;
        }, CancellationToken.None);
        Assert.Equal(new Dictionary<string, long> { [customer] = 0 }, await lake.Partitions.GetTrustedCountsAsync(hours[0]));
        Assert.Equal(new HashSet<string> { user }, await lake.Partitions.GetCustomersWithTrustedReadingsAsync([user]));
        Step("replace 300 hours without the user, read back", requests);

        // A Step Trainer landing object spanning 3,000 hours: its membership facts, its ledger entry, its pending marks.
        var objectHours = Enumerable.Range(UserHours, ObjectHours).Select(Hour).ToList();
        const string landingKey = "step_trainer/landing/step_trainer-spanning-3000-hours.json";
        var entry = new LedgerEntry(landingKey, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo", "step_trainer",
            new string('a', 64), "manifests/step_trainer/0f1e2d3c4b5a69788796a5b4c3d2e1f0.json");
        await lake.Partitions.AddMembershipAsync([.. objectHours.Select(h => new PartitionMembership(MemberKind.Serial, serial, h))]);
        await lake.Ledger.PutAsync(entry, replacing: null);
        Step("object: 3,000 membership facts and its ledger entry", requests);
        Assert.Equal(objectHours, await lake.Partitions.GetPartitionsAsync(MemberKind.Serial, [serial]));
        Assert.Equal(entry, await lake.Ledger.GetAsync(landingKey));
        Assert.Equal([landingKey], await lake.Ledger.FindByContentAsync(entry.ContentHash));
        Step("object: read back", requests);

        // Every item of the table, measured as DynamoDB counts it.
        var items = await DynamoDbItems.ScanAllAsync(lake.DynamoDb, lake.Config.IndexTable);
        Step($"scan {items.Count:N0} items", requests);
        foreach (var kind in items.GroupBy(DynamoDbItems.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
            output.WriteLine($"  {kind.Key,-5} {kind.Count(),7:N0} items, largest {kind.Max(DynamoDbItems.Size),6:N0} bytes");
        var largest = items.MaxBy(DynamoDbItems.Size)!;
        Assert.True(DynamoDbItems.Size(largest) < ItemBound, $"{largest["pk"].S} / {largest["sk"].S}: {DynamoDbItems.Size(largest)} bytes");
        // The user's count and reverse items of the 300 hours it left are gone.
        Assert.Equal(Versions + Versions / 2 + UserHours * 3 - 300 + ObjectHours + 2, items.Count);
        Assert.DoesNotContain(items, i => i["pk"].S.Contains('@', StringComparison.Ordinal) || i["sk"].S.Contains('@', StringComparison.Ordinal));
    }

    private static string Hour(int i) => DateTime.UnixEpoch.AddHours(438_000 + i).ToString("yyyy-MM-dd-HH", System.Globalization.CultureInfo.InvariantCulture);

    private Dictionary<string, int> Step(string what, RequestCounter requests)
    {
        var counts = requests.Take();
        output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:F1} s  {what}: {string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"))}");
        _clock.Restart();
        return counts;
    }
}
