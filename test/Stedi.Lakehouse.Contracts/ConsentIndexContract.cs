namespace Stedi.Lakehouse.Contracts;

/// <summary>
/// The behaviour every <see cref="IConsentIndex"/> must have. Subclass it with a factory for the adapter under test.
/// Every test uses customer keys, serials, members, partitions, landing keys and tables made unique by a random
/// tag, so one index (or emulator table) can be shared by every test; list results are filtered to the test's tag.
/// </summary>
public abstract class ConsentIndexContract
{
    /// <summary>The index under test (may be shared by tests; each test uses fresh keys).</summary>
    protected abstract Task<IConsentIndex> CreateIndexAsync();

    /// <summary>A tag no other test uses.</summary>
    protected static string Tag() => Guid.NewGuid().ToString("N")[..12];

    private static CustomerVersion Version(string key, int n, string? serial = null, long? lastUpdate = null, bool consented = false, long? consentTime = null) =>
        new(key, $"v{n:D4}-{key}", serial, lastUpdate, consented, consentTime, $"{{\"email\":\"{key}\",\"n\":{n}}}");

    private static List<CustomerVersion> Sorted(IEnumerable<CustomerVersion> versions) =>
        [.. versions.OrderBy(v => v.CustomerKey, StringComparer.Ordinal).ThenBy(v => v.VersionId, StringComparer.Ordinal)];

    [Fact]
    public async Task Customer_versions_round_trip_every_field()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        var full = new CustomerVersion($"{t}-ann@example.com", "a1b2", "serial-ünï 1", 1_655_564_376_361L, true, 1_655_564_376_362L,
            "{\"customerName\":\"Ann\",\"email\":\"ann@example.com\"}");
        var sparse = new CustomerVersion($"{t}-bob@example.com", "c3d4", null, null, false, null, "{}");

        await index.PutCustomerVersionsAsync([full, sparse]);

        Assert.Equal([full], await index.GetCustomerVersionsAsync([full.CustomerKey]));
        Assert.Equal([sparse], await index.GetCustomerVersionsAsync([sparse.CustomerKey]));
        Assert.Equal(Sorted([full, sparse]), Sorted(await index.GetCustomerVersionsAsync([full.CustomerKey, sparse.CustomerKey])));
    }

    [Fact]
    public async Task Unknown_customer_keys_are_absent_and_empty_input_gives_empty_result()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        var known = Version($"{t}-known", 1);
        await index.PutCustomerVersionsAsync([known]);

        Assert.Equal([known], await index.GetCustomerVersionsAsync([$"{t}-unknown", known.CustomerKey, $"{t}-other"]));
        Assert.Empty(await index.GetCustomerVersionsAsync([$"{t}-unknown"]));
        Assert.Empty(await index.GetCustomerVersionsAsync([]));
        await index.PutCustomerVersionsAsync([]);
    }

    [Fact]
    public async Task Putting_customer_versions_is_an_idempotent_set_union()
    {
        var index = await CreateIndexAsync();
        var key = $"{Tag()}-c@example.com";
        var v1 = Version(key, 1, "s1", 10, true, 5);
        var v2 = Version(key, 2, "s2", 20);

        await index.PutCustomerVersionsAsync([v1]);
        await index.PutCustomerVersionsAsync([v1, v2]);
        await index.PutCustomerVersionsAsync([v2, v1, v1]);
        // A version is immutable: a second write of the same id does not change it.
        await index.PutCustomerVersionsAsync([v1 with { Consented = false, Canonical = "{\"changed\":true}" }]);

        Assert.Equal(Sorted([v1, v2]), Sorted(await index.GetCustomerVersionsAsync([key])));
    }

    [Fact]
    public async Task Customer_versions_written_in_any_order_and_batching_give_the_same_state()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        List<CustomerVersion> Build(string side) =>
            [.. Enumerable.Range(0, 60).Select(i => Version($"{t}-{side}-{i % 7}", i, i % 3 == 0 ? $"{t}-serial-{i % 5}" : null, i * 1000L, i % 2 == 0, i % 4 == 0 ? i : null))];
        var forward = Build("fwd");
        var backward = Build("bwd");
        var shuffled = backward.OrderBy(_ => Random.Shared.Next()).ToList();

        await index.PutCustomerVersionsAsync(forward);
        foreach (var chunk in shuffled.Chunk(7).Reverse()) await index.PutCustomerVersionsAsync(chunk);
        await index.PutCustomerVersionsAsync(shuffled.Take(20).ToList());

        var a = await index.GetCustomerVersionsAsync([.. Enumerable.Range(0, 7).Select(i => $"{t}-fwd-{i}")]);
        var b = await index.GetCustomerVersionsAsync([.. Enumerable.Range(0, 7).Select(i => $"{t}-bwd-{i}")]);
        Assert.Equal(60, a.Count);
        Assert.Equal(
            Sorted(a).Select(v => Neutral(v, "-fwd-")),
            Sorted(b).Select(v => Neutral(v, "-bwd-")));
        Assert.Equal(Sorted(forward), Sorted(a));
    }

    [Fact]
    public async Task Concurrent_writers_produce_the_union_of_their_versions()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        var batches = Enumerable.Range(0, 8)
            .Select(w => Enumerable.Range(0, 50).Select(i => Version($"{t}-{i % 10}", w * 100 + i)).ToList())
            .ToList();

        await Task.WhenAll(batches.Select(b => Task.Run(() => index.PutCustomerVersionsAsync(b))));

        var stored = await index.GetCustomerVersionsAsync([.. Enumerable.Range(0, 10).Select(i => $"{t}-{i}")]);
        Assert.Equal(Sorted(batches.SelectMany(b => b)), Sorted(stored));
    }

    [Fact]
    public async Task Serial_lookup_returns_every_customer_that_ever_carried_the_serial()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        string s1 = $"{t}-serial-1", s2 = $"{t}-serial-2", s3 = $"{t}-serial-3";
        await index.PutCustomerVersionsAsync(
        [
            Version($"{t}-ann", 1, s1, 100),
            Version($"{t}-ann", 2, s2, 200), // ann's serial changed: both serials lead to ann
            Version($"{t}-bob", 1, s1, 150), // the serial is shared by two customers
            Version($"{t}-bob", 2, s1, 250), // two versions of one customer: one pair
            Version($"{t}-cyd", 1, null, 100),
        ]);

        var pairs = await index.GetCustomerKeysBySerialAsync([s1, s2, s3, s1]);

        Assert.Equal(
            [(s1, $"{t}-ann"), (s1, $"{t}-bob"), (s2, $"{t}-ann")],
            pairs.Distinct().OrderBy(p => p.Serial, StringComparer.Ordinal).ThenBy(p => p.CustomerKey, StringComparer.Ordinal));
        Assert.Empty(await index.GetCustomerKeysBySerialAsync([s3]));
        Assert.Empty(await index.GetCustomerKeysBySerialAsync([]));
    }

    [Fact]
    public async Task Membership_is_an_idempotent_set_queried_by_kind_and_member()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        string ann = $"{t}-ann", bob = $"{t}-bob", serial = $"{t}-serial";
        await index.AddMembershipAsync(
        [
            new("accelerometer", ann, $"{t}-2022-06-18-15"),
            new("accelerometer", ann, $"{t}-2022-06-18-16"),
            new("accelerometer", bob, $"{t}-2022-06-18-16"),
            new("step_trainer", serial, $"{t}-2022-06-18-17"),
            new("step_trainer", ann, $"{t}-2022-06-18-18"), // same member string, other kind
        ]);
        await index.AddMembershipAsync([new("accelerometer", ann, $"{t}-2022-06-18-15")]);

        Assert.Equal([$"{t}-2022-06-18-15", $"{t}-2022-06-18-16"], Ordered(await index.GetPartitionsAsync("accelerometer", [ann])));
        Assert.Equal([$"{t}-2022-06-18-15", $"{t}-2022-06-18-16"], Ordered(await index.GetPartitionsAsync("accelerometer", [ann, bob, $"{t}-nobody"])));
        Assert.Equal([$"{t}-2022-06-18-17", $"{t}-2022-06-18-18"], Ordered(await index.GetPartitionsAsync("step_trainer", [serial, ann])));
        Assert.Empty(await index.GetPartitionsAsync("accelerometer", [serial]));
        Assert.Empty(await index.GetPartitionsAsync("accelerometer", []));
    }

    [Fact]
    public async Task Replacing_trusted_reading_counts_returns_the_previous_counts()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        string p1 = $"{t}-p1", ann = $"{t}-ann", bob = $"{t}-bob";

        var first = await index.ReplaceTrustedReadingCountsAsync(p1, new Dictionary<string, long> { [ann] = 3, [bob] = 1 });
        var second = await index.ReplaceTrustedReadingCountsAsync(p1, new Dictionary<string, long> { [ann] = 5 });
        var third = await index.ReplaceTrustedReadingCountsAsync(p1, new Dictionary<string, long>());
        var fourth = await index.ReplaceTrustedReadingCountsAsync(p1, new Dictionary<string, long> { [bob] = 2 });

        Assert.Empty(first);
        Assert.Equal(new Dictionary<string, long> { [ann] = 3, [bob] = 1 }, second);
        Assert.Equal(new Dictionary<string, long> { [ann] = 5 }, third);
        Assert.Empty(fourth);
    }

    [Fact]
    public async Task Customers_with_trusted_readings_reflect_nonzero_counts_in_any_partition()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        string p1 = $"{t}-p1", p2 = $"{t}-p2", ann = $"{t}-ann", bob = $"{t}-bob", cyd = $"{t}-cyd", dan = $"{t}-dan";
        string[] everyone = [ann, bob, cyd, dan];

        await index.ReplaceTrustedReadingCountsAsync(p1, new Dictionary<string, long> { [ann] = 2, [bob] = 0 });
        await index.ReplaceTrustedReadingCountsAsync(p2, new Dictionary<string, long> { [ann] = 1, [cyd] = 4 });
        Assert.Equal(new HashSet<string> { ann, cyd }, await index.GetCustomersWithTrustedReadingsAsync(everyone));

        // ann keeps readings in p2 when p1 loses them; cyd loses her only partition.
        await index.ReplaceTrustedReadingCountsAsync(p1, new Dictionary<string, long> { [bob] = 7 });
        await index.ReplaceTrustedReadingCountsAsync(p2, new Dictionary<string, long> { [ann] = 1, [cyd] = 0 });
        Assert.Equal(new HashSet<string> { ann, bob }, await index.GetCustomersWithTrustedReadingsAsync(everyone));
        Assert.Equal(new HashSet<string> { bob }, await index.GetCustomersWithTrustedReadingsAsync([bob, dan]));
        Assert.Empty(await index.GetCustomersWithTrustedReadingsAsync([]));
    }

    [Fact]
    public async Task Removed_versions_are_gone_and_the_rest_stay()
    {
        var index = await CreateIndexAsync();
        var key = $"{Tag()}-r@example.com";
        var keep = Version(key, 1, "S-1", 10, consented: true, consentTime: 5);
        var drop = Version(key, 2, "S-1", 20, consented: false);
        await index.PutCustomerVersionsAsync([keep, drop]);

        await index.RemoveCustomerVersionsAsync([drop, Version(key, 3)]); // a missing version is no error
        await index.RemoveCustomerVersionsAsync([drop]);                  // nor is removing twice

        Assert.Equal([keep], await index.GetCustomerVersionsAsync([key]));
    }

    [Fact]
    public async Task A_deleted_ledger_entry_is_gone_and_deleting_it_again_is_no_error()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        var a = new LedgerEntry($"{t}/customer/landing/gone.json", "etag-1", "customer", [], "{}");
        var b = new LedgerEntry($"{t}/customer/landing/kept.json", "etag-1", "customer", [], "{}");
        await index.PutLedgerEntryAsync(a);
        await index.PutLedgerEntryAsync(b);

        await index.DeleteLedgerEntryAsync(a.LandingKey);
        await index.DeleteLedgerEntryAsync(a.LandingKey);

        Assert.Null(await index.GetLedgerEntryAsync(a.LandingKey));
        Assert.NotNull(await index.GetLedgerEntryAsync(b.LandingKey));
        Assert.Equal([b.LandingKey], (await index.ListLedgerAsync()).Select(e => e.LandingKey).Where(k => k.StartsWith(t, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Ledger_entries_are_put_read_replaced_and_listed()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        var a = new LedgerEntry($"{t}/customer/landing/customer 1+x.json", "etag-1", "customer",
            [$"staged/customer/email_bucket=03/{t}.parquet", "staged/customer/email_bucket=07/x y.parquet"], "{\"rowsRead\":3}");
        var b = new LedgerEntry($"{t}/accelerometer/landing/a.json", "v-1", "accelerometer", [], "{}");

        Assert.Null(await index.GetLedgerEntryAsync(a.LandingKey));
        await index.PutLedgerEntryAsync(a);
        await index.PutLedgerEntryAsync(b);
        var gotA = await index.GetLedgerEntryAsync(a.LandingKey);
        Assert.NotNull(gotA);
        AssertLedger(a, gotA);

        var replaced = a with { IdempotencyKey = "etag-2", StagedKeys = ["staged/other.parquet"], ManifestJson = "{\"rowsRead\":4}" };
        await index.PutLedgerEntryAsync(replaced);
        AssertLedger(replaced, (await index.GetLedgerEntryAsync(a.LandingKey))!);

        var listed = (await index.ListLedgerAsync()).Where(e => e.LandingKey.StartsWith(t, StringComparison.Ordinal))
            .OrderBy(e => e.LandingKey, StringComparer.Ordinal).ToList();
        Assert.Equal(2, listed.Count);
        AssertLedger(b, listed[0]);
        AssertLedger(replaced, listed[1]);
    }

    [Fact]
    public async Task Refine_outcomes_are_put_read_replaced_and_listed()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        string table = $"accelerometer_trusted_{t}", other = $"customer_trusted_{t}";

        Assert.Null(await index.GetRefineOutcomeAsync(table, "2022-06-18-15"));
        await index.PutRefineOutcomeAsync(table, "2022-06-18-15", "{\"rows\":1}");
        await index.PutRefineOutcomeAsync(table, "2022-06-18-16", "{\"rows\":2}");
        await index.PutRefineOutcomeAsync(other, "2022-06-18-15", "{\"rows\":3}");
        await index.PutRefineOutcomeAsync(table, "2022-06-18-15", "{\"rows\":9}");

        Assert.Equal("{\"rows\":9}", await index.GetRefineOutcomeAsync(table, "2022-06-18-15"));
        Assert.Equal("{\"rows\":3}", await index.GetRefineOutcomeAsync(other, "2022-06-18-15"));
        Assert.Null(await index.GetRefineOutcomeAsync(other, "2022-06-18-16"));
        var listed = (await index.ListRefineOutcomesAsync()).Where(o => o.Table.EndsWith(t, StringComparison.Ordinal))
            .OrderBy(o => o.Table, StringComparer.Ordinal).ThenBy(o => o.Partition, StringComparer.Ordinal);
        Assert.Equal(
            [(table, "2022-06-18-15", "{\"rows\":9}"), (table, "2022-06-18-16", "{\"rows\":2}"), (other, "2022-06-18-15", "{\"rows\":3}")],
            listed);
    }

    /// <summary>Items per large batch: 10,000 by default; an emulator that serves ~60 requests/s may lower it.</summary>
    protected virtual int LargeBatchSize => 10_000;

    [Fact]
    public async Task Large_batches_are_written_and_read_back()
    {
        var index = await CreateIndexAsync();
        var t = Tag();
        var n = LargeBatchSize;
        var keys = Enumerable.Range(0, n).Select(i => $"{t}-{i:D5}@example.com").ToList();
        var serials = Math.Max(1, n / 5);
        var versions = keys.Select((k, i) => Version(k, i, $"{t}-s{i % serials}", i, i % 2 == 0)).ToList();
        var membership = keys.Select((k, i) => new PartitionMembership("accelerometer", k, $"{t}-h{i % 50:D2}")).ToList();
        var counts = keys.Where((_, i) => i % 3 == 0).ToDictionary(k => k, _ => 1L);

        await index.PutCustomerVersionsAsync(versions);
        await index.AddMembershipAsync(membership);
        await index.ReplaceTrustedReadingCountsAsync($"{t}-h00", counts);

        Assert.Equal(Sorted(versions), Sorted(await index.GetCustomerVersionsAsync(keys)));
        Assert.Equal(n, (await index.GetCustomerKeysBySerialAsync([.. Enumerable.Range(0, serials).Select(i => $"{t}-s{i}")])).Count);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"{t}-h{i:D2}"), Ordered(await index.GetPartitionsAsync("accelerometer", keys)));
        Assert.Equal(counts.Keys.ToHashSet(), await index.GetCustomersWithTrustedReadingsAsync(keys));
        Assert.Equal(counts, await index.ReplaceTrustedReadingCountsAsync($"{t}-h00", new Dictionary<string, long>()));
    }

    private static CustomerVersion Neutral(CustomerVersion v, string side) => v with
    {
        CustomerKey = v.CustomerKey.Replace(side, "-x-"),
        VersionId = v.VersionId.Replace(side, "-x-"),
        Canonical = v.Canonical.Replace(side, "-x-"),
    };

    private static List<string> Ordered(IEnumerable<string> values) => [.. values.Distinct().Order(StringComparer.Ordinal)];

    private static void AssertLedger(LedgerEntry expected, LedgerEntry actual)
    {
        Assert.Equal(expected.LandingKey, actual.LandingKey);
        Assert.Equal(expected.IdempotencyKey, actual.IdempotencyKey);
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.StagedKeys, actual.StagedKeys);
        Assert.Equal(expected.ManifestJson, actual.ManifestJson);
    }
}
