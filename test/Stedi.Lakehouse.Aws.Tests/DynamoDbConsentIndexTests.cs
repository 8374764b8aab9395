using System.Text;
using Amazon.DynamoDBv2.Model;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>DynamoDB-specific behaviour beyond the shared contract: item layout and large documents.</summary>
public sealed class DynamoDbConsentIndexTests(MotoLake moto) : IClassFixture<MotoLake>
{
    private Task<GetItemResponse> RawAsync(string pk, string sk) => moto.Lake.DynamoDb.GetItemAsync(new GetItemRequest
    {
        TableName = moto.Lake.Config.IndexTable, ConsistentRead = true,
        Key = new() { ["pk"] = new AttributeValue { S = pk }, ["sk"] = new AttributeValue { S = sk } },
    });

    [Fact]
    public async Task A_manifest_over_350_KB_is_stored_compressed_and_read_back_verbatim()
    {
        var index = moto.Lake.ConsentIndex;
        var landingKey = $"customer/landing/{Guid.NewGuid():N}.json";
        var reasons = string.Join(",", Enumerable.Range(0, 30_000).Select(i => $"{{\"line\":{i},\"reason\":\"bad email\"}}"));
        var manifest = $"{{\"quarantined\":[{reasons}]}}";
        Assert.True(Encoding.UTF8.GetByteCount(manifest) > 800_000);
        var entry = new LedgerEntry(landingKey, "etag", "customer", ["staged/a.parquet"], manifest);

        await index.PutLedgerEntryAsync(entry);
        await index.PutRefineOutcomeAsync("customer_trusted", landingKey, manifest);

        Assert.Equal(manifest, (await index.GetLedgerEntryAsync(landingKey))!.ManifestJson);
        Assert.Equal(manifest, await index.GetRefineOutcomeAsync("customer_trusted", landingKey));
        var raw = (await RawAsync($"ledger#{landingKey}", "-")).Item;
        Assert.False(raw.ContainsKey("body"));
        Assert.True(raw["bodyz"].B.Length < 350 * 1024);
        Assert.Contains((await index.ListLedgerAsync()), e => e.LandingKey == landingKey && e.ManifestJson == manifest);
    }

    [Fact]
    public async Task Versions_of_one_customer_live_in_one_item_and_serials_in_a_lookup_item()
    {
        var index = moto.Lake.ConsentIndex;
        var key = $"{Guid.NewGuid():N}@example.com";
        await index.PutCustomerVersionsAsync(
        [
            new(key, "aa", "serial-1", 1, true, 1, "{\"n\":1}"),
            new(key, "bb", "serial-1", 2, false, null, "{\"n\":2}"),
        ]);

        var item = (await RawAsync($"cust#{key}", "-")).Item;
        Assert.Equal(["v#aa", "v#bb"], item.Keys.Where(k => k.StartsWith("v#", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Contains(key, (await RawAsync("serial#serial-1", "-")).Item["keys"].SS);
    }
}
