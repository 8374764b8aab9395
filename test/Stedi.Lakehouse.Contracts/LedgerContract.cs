namespace Stedi.Lakehouse.Contracts;

// Inside the namespace so that Index.LedgerEntry wins over the old Ports.LedgerEntry of the global usings.
using Stedi.Lakehouse.Index;

/// <summary>
/// The behaviour every <see cref="ILedger"/> must have. Subclass it with a factory for the adapter under test.
/// Every test makes its landing keys and content hashes unique with a random tag, so one ledger (or emulator table)
/// may be shared by every test; listings are filtered to the test's tag.
/// </summary>
public abstract class LedgerContract
{
    /// <summary>The ledger under test (may be shared by tests; each test uses fresh keys).</summary>
    protected abstract Task<ILedger> CreateAsync();

    /// <summary>Entries in the scale test (each one conditional put). 200 by default.</summary>
    protected virtual int LargeCount => 200;

    /// <summary>A tag no other test uses.</summary>
    protected static string Tag() => Guid.NewGuid().ToString("N")[..12];

    private static LedgerEntry Entry(string key, string idempotencyKey, string contentHash) =>
        new(key, idempotencyKey, "customer", contentHash, $"manifests/customer/{idempotencyKey}-{contentHash}.json");

    private static async Task<List<LedgerEntry>> ListTagged(ILedger ledger, string t) =>
        [.. (await ledger.ListAsync()).Where(e => e.LandingKey.StartsWith(t, StringComparison.Ordinal))];

    [Fact]
    public async Task A_first_put_expects_no_entry_and_round_trips_every_field()
    {
        var ledger = await CreateAsync();
        var t = Tag();
        var entry = new LedgerEntry($"{t}/customer/landing/customer 1+ü.json", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
            "customer", $"{t}-sha", $"manifests/customer/{t}.json");
        var noHash = new LedgerEntry($"{t}/step_trainer/landing/s.json", "\"etag-1\"", "step_trainer", "", "manifests/step_trainer/x.json");

        Assert.Null(await ledger.GetAsync(entry.LandingKey));
        await ledger.PutAsync(entry, replacing: null);
        await ledger.PutAsync(noHash, replacing: null);

        Assert.Equal(entry, await ledger.GetAsync(entry.LandingKey));
        Assert.Equal(noHash, await ledger.GetAsync(noHash.LandingKey));
    }

    [Fact]
    public async Task A_put_replacing_the_stored_version_succeeds_and_a_stale_expectation_raises_a_conflict()
    {
        var ledger = await CreateAsync();
        var t = Tag();
        var key = $"{t}/customer/landing/c.json";
        var v1 = Entry(key, "v1", $"{t}-h1");
        var v2 = Entry(key, "v2", $"{t}-h2");
        var v3 = Entry(key, "v3", $"{t}-h3");
        await ledger.PutAsync(v1, replacing: null);

        var again = await Assert.ThrowsAsync<LedgerConflictException>(() => ledger.PutAsync(v2, replacing: null));
        Assert.Equal(key, again.LandingKey);
        await ledger.PutAsync(v2, replacing: "v1");
        var stale = await Assert.ThrowsAsync<LedgerConflictException>(() => ledger.PutAsync(v3, replacing: "v1"));
        Assert.Equal(key, stale.LandingKey);
        Assert.Equal(v2, await ledger.GetAsync(key));

        // A retry of the put that committed expects the version it wrote itself.
        await ledger.PutAsync(v2, replacing: "v2");
        await ledger.PutAsync(v3, replacing: "v2");
        Assert.Equal(v3, await ledger.GetAsync(key));
        await Assert.ThrowsAsync<LedgerConflictException>(() => ledger.PutAsync(Entry($"{t}/none.json", "v1", "h"), replacing: "v0"));
        Assert.Null(await ledger.GetAsync($"{t}/none.json"));
    }

    [Fact]
    public async Task Of_concurrent_first_puts_of_one_key_exactly_one_succeeds()
    {
        var ledger = await CreateAsync();
        var t = Tag();
        var key = $"{t}/accelerometer/landing/a.json";
        var puts = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            try { await ledger.PutAsync(Entry(key, $"v{i}", $"{t}-h{i}"), replacing: null); return i; }
            catch (LedgerConflictException) { return -1; }
        })).ToList();

        var winners = (await Task.WhenAll(puts)).Where(i => i >= 0).ToList();

        var winner = Assert.Single(winners);
        Assert.Equal(Entry(key, $"v{winner}", $"{t}-h{winner}"), await ledger.GetAsync(key));
        Assert.Equal([key], await ledger.FindByContentAsync($"{t}-h{winner}"));
    }

    [Fact]
    public async Task Find_by_content_hash_follows_puts_replacements_and_deletes()
    {
        var ledger = await CreateAsync();
        var t = Tag();
        string a = $"{t}/customer/landing/a.json", b = $"{t}/customer/landing/b.json", hash = $"{t}-same", other = $"{t}-other";
        await ledger.PutAsync(Entry(b, "v1", hash), replacing: null);
        await ledger.PutAsync(Entry(a, "v1", hash), replacing: null);

        Assert.Equal([a, b], await ledger.FindByContentAsync(hash));
        Assert.Empty(await ledger.FindByContentAsync($"{t}-unknown"));

        await ledger.PutAsync(Entry(a, "v2", other), replacing: "v1");
        Assert.Equal([b], await ledger.FindByContentAsync(hash));
        Assert.Equal([a], await ledger.FindByContentAsync(other));

        await ledger.DeleteAsync(b);
        Assert.Empty(await ledger.FindByContentAsync(hash));
    }

    [Fact]
    public async Task A_deleted_entry_is_gone_deleting_again_is_no_error_and_the_key_can_be_put_afresh()
    {
        var ledger = await CreateAsync();
        var t = Tag();
        var gone = Entry($"{t}/customer/landing/gone.json", "v1", $"{t}-h1");
        var kept = Entry($"{t}/customer/landing/kept.json", "v1", $"{t}-h2");
        await ledger.PutAsync(gone, replacing: null);
        await ledger.PutAsync(kept, replacing: null);

        await ledger.DeleteAsync(gone.LandingKey);
        await ledger.DeleteAsync(gone.LandingKey);
        await ledger.DeleteAsync($"{t}/never.json");

        Assert.Null(await ledger.GetAsync(gone.LandingKey));
        Assert.Equal([kept], await ListTagged(ledger, t));
        await ledger.PutAsync(gone with { IdempotencyKey = "v2" }, replacing: null);
        Assert.Equal("v2", (await ledger.GetAsync(gone.LandingKey))?.IdempotencyKey);
    }

    [Fact]
    public async Task Listing_gives_every_entry_ordered_by_landing_key()
    {
        var ledger = await CreateAsync();
        var t = Tag();
        var entries = Enumerable.Range(0, LargeCount)
            .Select(i => Entry($"{t}/{(i % 3 == 0 ? "customer" : "accelerometer")}/landing/{i:D6}.json", $"v{i}", $"{t}-h{i % 10}"))
            .ToList();

        foreach (var chunk in entries.OrderBy(_ => Random.Shared.Next()).Chunk(8)) await Task.WhenAll(chunk.Select(e => ledger.PutAsync(e, replacing: null)));

        Assert.Equal(entries.OrderBy(e => e.LandingKey, StringComparer.Ordinal), await ListTagged(ledger, t));
        Assert.Equal(entries.Where((_, i) => i % 10 == 3).Select(e => e.LandingKey).Order(StringComparer.Ordinal),
            await ledger.FindByContentAsync($"{t}-h3"));
    }
}
