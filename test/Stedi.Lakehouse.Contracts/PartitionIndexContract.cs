namespace Stedi.Lakehouse.Contracts;

// Inside the namespace so that Index.PartitionMembership wins over the old Ports.PartitionMembership of the global usings.
using Stedi.Lakehouse.Index;

/// <summary>
/// The behaviour every <see cref="IPartitionIndex"/> must have. Subclass it with a factory for the adapter under test.
/// Every test makes its members and partitions unique with a random tag, so one index (or emulator table) may be
/// shared by every test.
/// </summary>
public abstract class PartitionIndexContract
{
    /// <summary>The index under test (may be shared by tests; each test uses fresh keys).</summary>
    protected abstract Task<IPartitionIndex> CreateAsync();

    /// <summary>Hours of one customer in the scale test. 1,000 by default; issue 10 asks adapters for 30,000.</summary>
    protected virtual int LargeCount => 1_000;

    /// <summary>A tag no other test uses.</summary>
    protected static string Tag() => Guid.NewGuid().ToString("N")[..12];

    private static Dictionary<string, long> Counts(params (string Key, long Count)[] counts) =>
        counts.ToDictionary(c => c.Key, c => c.Count, StringComparer.Ordinal);

    [Fact]
    public async Task Membership_is_an_idempotent_set_read_as_distinct_ordered_partitions_per_kind()
    {
        var index = await CreateAsync();
        var t = Tag();
        string ann = $"{t}-ann", bob = $"{t}-bob", serial = $"{t}-serial";
        string h15 = $"{t}-2022-06-18-15", h16 = $"{t}-2022-06-18-16", h17 = $"{t}-2022-06-18-17", h18 = $"{t}-2022-06-18-18";
        await index.AddMembershipAsync(
        [
            new(MemberKind.Customer, ann, h16),
            new(MemberKind.Customer, ann, h15),
            new(MemberKind.Customer, bob, h16),
            new(MemberKind.Serial, serial, h17),
            new(MemberKind.Serial, ann, h18), // the same member string under the other kind is another member
        ]);
        await index.AddMembershipAsync([new(MemberKind.Customer, ann, h15), new(MemberKind.Customer, ann, h15)]);
        await index.AddMembershipAsync([]);

        Assert.Equal([h15, h16], await index.GetPartitionsAsync(MemberKind.Customer, [ann]));
        Assert.Equal([h15, h16], await index.GetPartitionsAsync(MemberKind.Customer, [bob, ann, $"{t}-nobody", ann]));
        Assert.Equal([h17, h18], await index.GetPartitionsAsync(MemberKind.Serial, [serial, ann]));
        Assert.Empty(await index.GetPartitionsAsync(MemberKind.Customer, [serial]));
        Assert.Empty(await index.GetPartitionsAsync(MemberKind.Customer, []));
    }

    [Fact]
    public async Task Concurrent_membership_writers_leave_the_union_of_their_facts()
    {
        var index = await CreateAsync();
        var t = Tag();
        var batches = Enumerable.Range(0, 4)
            .Select(w => Enumerable.Range(0, 40).Select(i => new PartitionMembership(MemberKind.Customer, $"{t}-{i % 3}", $"{t}-h{(w * 40 + i) % 90:D3}")).ToList())
            .ToList();

        await Task.WhenAll(batches.Select(b => Task.Run(() => index.AddMembershipAsync(b))));

        Assert.Equal(Enumerable.Range(0, 90).Select(i => $"{t}-h{i:D3}"),
            await index.GetPartitionsAsync(MemberKind.Customer, [$"{t}-0", $"{t}-1", $"{t}-2"]));
    }

    [Fact]
    public async Task Trusted_counts_of_a_partition_are_replaced_whole_and_read_back()
    {
        var index = await CreateAsync();
        var t = Tag();
        string p1 = $"{t}-p1", p2 = $"{t}-p2", ann = $"{t}-ann", bob = $"{t}-bob";

        Assert.Empty(await index.GetTrustedCountsAsync(p1));
        await index.ReplaceTrustedCountsAsync(p1, Counts((ann, 3), (bob, 1)));
        await index.ReplaceTrustedCountsAsync(p2, Counts((ann, 40_000_000_000L)));
        Assert.Equal(Counts((ann, 3), (bob, 1)), await index.GetTrustedCountsAsync(p1));

        await index.ReplaceTrustedCountsAsync(p1, Counts((ann, 5)));
        Assert.Equal(Counts((ann, 5)), await index.GetTrustedCountsAsync(p1));

        await index.ReplaceTrustedCountsAsync(p1, Counts());
        Assert.Empty(await index.GetTrustedCountsAsync(p1));
        Assert.Equal(Counts((ann, 40_000_000_000L)), await index.GetTrustedCountsAsync(p2));
    }

    [Fact]
    public async Task Customers_with_trusted_readings_are_those_with_a_positive_count_in_any_partition()
    {
        var index = await CreateAsync();
        var t = Tag();
        string p1 = $"{t}-p1", p2 = $"{t}-p2", ann = $"{t}-ann", bob = $"{t}-bob", cyd = $"{t}-cyd", dan = $"{t}-dan";
        string[] everyone = [ann, bob, cyd, dan];

        await index.ReplaceTrustedCountsAsync(p1, Counts((ann, 2), (bob, 0)));
        await index.ReplaceTrustedCountsAsync(p2, Counts((ann, 1), (cyd, 4)));
        Assert.Equal(new HashSet<string> { ann, cyd }, await index.GetCustomersWithTrustedReadingsAsync(everyone));

        // ann keeps readings in p2 when p1 loses them; cyd loses her only partition; bob gains one.
        await index.ReplaceTrustedCountsAsync(p1, Counts((bob, 7)));
        await index.ReplaceTrustedCountsAsync(p2, Counts((ann, 1), (cyd, 0)));
        Assert.Equal(new HashSet<string> { ann, bob }, await index.GetCustomersWithTrustedReadingsAsync(everyone));
        Assert.Equal(new HashSet<string> { bob }, await index.GetCustomersWithTrustedReadingsAsync([bob, dan, bob]));
        Assert.Empty(await index.GetCustomersWithTrustedReadingsAsync([dan]));
        Assert.Empty(await index.GetCustomersWithTrustedReadingsAsync([]));
    }

    [Fact]
    public async Task Membership_and_trusted_counts_are_independent()
    {
        var index = await CreateAsync();
        var t = Tag();
        string ann = $"{t}-ann", p = $"{t}-p";

        await index.AddMembershipAsync([new(MemberKind.Customer, ann, p)]);
        Assert.Empty(await index.GetCustomersWithTrustedReadingsAsync([ann]));
        Assert.Empty(await index.GetTrustedCountsAsync(p));

        await index.ReplaceTrustedCountsAsync(p, Counts((ann, 1)));
        await index.ReplaceTrustedCountsAsync(p, Counts());
        Assert.Equal([p], await index.GetPartitionsAsync(MemberKind.Customer, [ann]));
    }

    [Fact]
    public async Task Many_hours_of_one_customer_and_many_customers_of_one_hour_are_written_and_read_back()
    {
        var index = await CreateAsync();
        var t = Tag();
        string user = $"{t}-user", hour = $"{t}-hour";
        var hours = Enumerable.Range(0, LargeCount).Select(i => $"{t}-h{i:D6}").ToList();
        var customers = Enumerable.Range(0, Math.Max(1, LargeCount / 10)).Select(i => $"{t}-c{i:D6}").ToList();
        var counts = customers.Select((c, i) => (c, (long)(i % 4))).ToArray();

        await index.AddMembershipAsync([.. hours.AsEnumerable().Reverse().Select(h => new PartitionMembership(MemberKind.Customer, user, h))]);
        await index.ReplaceTrustedCountsAsync(hour, Counts(counts));

        Assert.Equal(hours, await index.GetPartitionsAsync(MemberKind.Customer, [user]));
        Assert.Equal(Counts(counts), await index.GetTrustedCountsAsync(hour));
        Assert.Equal(customers.Where((_, i) => i % 4 != 0).ToHashSet(), await index.GetCustomersWithTrustedReadingsAsync(customers));
    }
}
