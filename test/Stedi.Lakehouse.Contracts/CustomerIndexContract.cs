namespace Stedi.Lakehouse.Contracts;

// Inside the namespace so that Index.CustomerVersion wins over the old Ports.CustomerVersion of the global usings.
using Stedi.Lakehouse.Index;

/// <summary>
/// The behaviour every <see cref="ICustomerIndex"/> must have. Subclass it with a factory for the adapter under test.
/// Every test makes its customer keys and serials unique with a random tag, so one index (or emulator table) may be
/// shared by every test.
/// </summary>
public abstract class CustomerIndexContract
{
    /// <summary>The index under test (may be shared by tests; each test uses fresh keys).</summary>
    protected abstract Task<ICustomerIndex> CreateAsync();

    /// <summary>Versions of one customer in the scale test. 1,000 by default; issue 10 asks adapters for 5,000.</summary>
    protected virtual int LargeCount => 1_000;

    /// <summary>A tag no other test uses.</summary>
    protected static string Tag() => Guid.NewGuid().ToString("N")[..12];

    private static CustomerVersion V(string key, int n, string? serial = null, bool consented = false) =>
        new(key, $"{n:D6}-{key}", serial, 1_655_564_376_000L + n, consented, consented ? 1_655_564_376_000L + n : null,
            $"{{\"email\":\"{key}\",\"n\":{n}}}");

    private static List<CustomerVersion> Ordered(IEnumerable<CustomerVersion> versions) =>
        [.. versions.OrderBy(v => v.CustomerKey, StringComparer.Ordinal).ThenBy(v => v.VersionId, StringComparer.Ordinal)];

    [Fact]
    public async Task A_version_round_trips_every_field_including_nulls()
    {
        var index = await CreateAsync();
        var t = Tag();
        var full = new CustomerVersion($"{t}-a", "a1b2", "serial-ünï 1", 1_655_564_376_361L, true, 1_655_564_376_362L,
            "{\"customerName\":\"Ann Ünï\",\"email\":\"ann@example.com\"}");
        var sparse = new CustomerVersion($"{t}-b", "c3d4", null, null, false, null, "{}");

        await index.PutVersionsAsync([full, sparse]);

        Assert.Equal([full], await index.GetVersionsAsync([full.CustomerKey]));
        Assert.Equal([sparse], await index.GetVersionsAsync([sparse.CustomerKey]));
    }

    [Fact]
    public async Task Versions_come_back_ordered_by_key_then_version_id_once_each_and_unknown_keys_are_absent()
    {
        var index = await CreateAsync();
        var t = Tag();
        var written = new[] { V($"{t}-b", 2), V($"{t}-a", 3), V($"{t}-b", 1), V($"{t}-a", 1), V($"{t}-c", 1) };
        await index.PutVersionsAsync(written);

        var got = await index.GetVersionsAsync([$"{t}-b", $"{t}-unknown", $"{t}-a", $"{t}-b"]);

        Assert.Equal([V($"{t}-a", 1), V($"{t}-a", 3), V($"{t}-b", 1), V($"{t}-b", 2)], got);
        Assert.Empty(await index.GetVersionsAsync([$"{t}-unknown"]));
        Assert.Empty(await index.GetVersionsAsync([]));
    }

    [Fact]
    public async Task Putting_is_an_idempotent_set_union_and_an_existing_version_is_never_changed()
    {
        var index = await CreateAsync();
        var key = $"{Tag()}-c";
        var v1 = V(key, 1, "s1", consented: true);
        var v2 = V(key, 2, "s2");

        await index.PutVersionsAsync([v1]);
        await index.PutVersionsAsync([v1, v2]);
        await index.PutVersionsAsync([v2, v1, v1]);
        await index.PutVersionsAsync([v1 with { Consented = false, ConsentTime = null, Canonical = "{\"changed\":true}" }]);
        await index.PutVersionsAsync([]);

        Assert.Equal([v1, v2], await index.GetVersionsAsync([key]));
    }

    [Fact]
    public async Task Any_order_and_batching_of_the_same_versions_gives_the_same_state()
    {
        var index = await CreateAsync();
        var t = Tag();
        List<CustomerVersion> Build(string side) =>
            [.. Enumerable.Range(0, 60).Select(i => V($"{t}-{side}-{i % 7}", i, i % 3 == 0 ? $"{t}-{side}-s{i % 5}" : null, i % 2 == 0))];
        var forward = Build("f");
        var shuffled = Build("r").OrderBy(_ => Random.Shared.Next()).ToList();

        await index.PutVersionsAsync(forward);
        foreach (var chunk in shuffled.Chunk(7).Reverse()) await index.PutVersionsAsync(chunk);
        await index.PutVersionsAsync(shuffled.Take(20).ToList());

        var a = await index.GetVersionsAsync([.. Enumerable.Range(0, 7).Select(i => $"{t}-f-{i}")]);
        var b = await index.GetVersionsAsync([.. Enumerable.Range(0, 7).Select(i => $"{t}-r-{i}")]);
        Assert.Equal(Ordered(forward), a);
        Assert.Equal(a.Select(v => Neutral(v, "-f-")), b.Select(v => Neutral(v, "-r-")));
    }

    [Fact]
    public async Task Concurrent_writers_leave_the_union_of_their_versions()
    {
        var index = await CreateAsync();
        var t = Tag();
        var batches = Enumerable.Range(0, 8)
            .Select(w => Enumerable.Range(0, 50).Select(i => V($"{t}-{i % 10}", w * 100 + i)).ToList()).ToList();

        await Task.WhenAll(batches.Select(b => Task.Run(() => index.PutVersionsAsync(b))));

        Assert.Equal(Ordered(batches.SelectMany(b => b)),
            await index.GetVersionsAsync([.. Enumerable.Range(0, 10).Select(i => $"{t}-{i}")]));
    }

    [Fact]
    public async Task Retracted_versions_are_gone_from_every_read_and_retracting_a_missing_one_is_no_error()
    {
        var index = await CreateAsync();
        var t = Tag();
        string key = $"{t}-r", serial = $"{t}-s1", only = $"{t}-s2";
        var keep = V(key, 1, serial, consented: true);
        var drop = V(key, 2, only);
        await index.PutVersionsAsync([keep, drop]);

        await index.RemoveVersionsAsync([new(key, drop.VersionId), new(key, "never-written"), new($"{t}-nobody", "x")]);
        await index.RemoveVersionsAsync([new(key, drop.VersionId)]);
        await index.RemoveVersionsAsync([]);

        Assert.Equal([keep], await index.GetVersionsAsync([key]));
        Assert.Equal([(serial, key)], await index.GetCustomersBySerialAsync([serial, only]));
        // Retraction is not a tombstone: the same version may be written again (a restored landing object).
        await index.PutVersionsAsync([drop]);
        Assert.Equal([keep, drop], await index.GetVersionsAsync([key]));
    }

    [Fact]
    public async Task By_serial_lookup_gives_distinct_ordered_pairs_of_every_customer_that_carried_the_serial()
    {
        var index = await CreateAsync();
        var t = Tag();
        string s1 = $"{t}-s1", s2 = $"{t}-s2", s3 = $"{t}-s3", ann = $"{t}-ann", bob = $"{t}-bob";
        await index.PutVersionsAsync(
        [
            V(bob, 1, s1), V(bob, 2, s1), // two versions of one customer: one pair
            V(ann, 1, s1),                 // the serial is shared by two customers
            V(ann, 2, s2),                 // ann's serial changed: both serials lead to ann
            V($"{t}-cyd", 1),              // no serial
        ]);

        Assert.Equal([(s1, ann), (s1, bob), (s2, ann)], await index.GetCustomersBySerialAsync([s2, s3, s1, s1]));
        Assert.Empty(await index.GetCustomersBySerialAsync([s3]));
        Assert.Empty(await index.GetCustomersBySerialAsync([]));
    }

    [Fact]
    public async Task Many_versions_of_one_customer_are_written_read_back_in_order_and_retracted()
    {
        var index = await CreateAsync();
        var t = Tag();
        string key = $"{t}-big", serial = $"{t}-s";
        var versions = Enumerable.Range(0, LargeCount).Select(i => V(key, i, i % 2 == 0 ? serial : null, i % 3 == 0)).ToList();

        await index.PutVersionsAsync(versions.AsEnumerable().Reverse().ToList());

        Assert.Equal(versions, await index.GetVersionsAsync([key]));
        Assert.Equal([(serial, key)], await index.GetCustomersBySerialAsync([serial]));
        await index.RemoveVersionsAsync([.. versions.Where((_, i) => i % 2 == 0).Select(v => new CustomerVersionRef(key, v.VersionId))]);
        Assert.Equal(versions.Where((_, i) => i % 2 == 1), await index.GetVersionsAsync([key]));
        Assert.Empty(await index.GetCustomersBySerialAsync([serial]));
    }

    private static CustomerVersion Neutral(CustomerVersion v, string side) => v with
    {
        CustomerKey = v.CustomerKey.Replace(side, "-x-", StringComparison.Ordinal),
        VersionId = v.VersionId.Replace(side, "-x-", StringComparison.Ordinal),
        SerialNumber = v.SerialNumber?.Replace(side, "-x-", StringComparison.Ordinal),
        Canonical = v.Canonical.Replace(side, "-x-", StringComparison.Ordinal),
    };
}
