using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Rules;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>The compact membership facts an ingest holds while it reads an object.</summary>
public sealed class MembershipFactsTests
{
    private static readonly HmacCustomerKeys Keys = new("0123456789abcdef0123456789abcdef"u8.ToArray());

    [Fact]
    public void Emails_that_share_a_join_key_are_one_member_and_each_fact_is_yielded_once_with_the_keyed_hash()
    {
        var facts = new MembershipFacts(MemberKind.Customer, Keys);
        var rules = StrictRules.Instance;
        var alice = facts.Member(rules.JoinKey("alice@example.com"));
        Assert.Equal(alice, facts.Member(rules.JoinKey(" ALICE@Example.com")));
        var bob = facts.Member(rules.JoinKey("bob@example.com"));
        Assert.NotEqual(alice, bob);
        var h1 = "2022-06-18-15";
        foreach (var (m, p) in new[] { (alice, h1), (bob, h1), (alice, new string(h1)), (alice, "2022-06-18-16"), (bob, h1) }) facts.Add(m, p);

        Assert.Equal(3, facts.Count);
        var yielded = facts.ToList();
        Assert.Equal(3, yielded.Count);
        Assert.Equal(yielded.Count, yielded.Distinct().Count());
        var aliceKey = Keys.KeyOf("alice@example.com");
        Assert.Equal(64, aliceKey.Length);
        Assert.Equal(
            new[] { (aliceKey, "2022-06-18-15"), (aliceKey, "2022-06-18-16"), (Keys.KeyOf("bob@example.com"), "2022-06-18-15") }.Order(),
            yielded.Select(f => (f.Member, f.Partition)).Order());
        Assert.All(yielded, f => Assert.Equal(MemberKind.Customer, f.Kind));
        // Enumerating again yields the same facts (the index adapters may enumerate twice).
        Assert.Equal(yielded, facts.ToList());
    }

    [Fact]
    public void Serials_are_members_as_written()
    {
        var facts = new MembershipFacts(MemberKind.Serial, Keys);
        facts.Add(facts.Member("S-1"), "2022-06-18-15");
        facts.Add(facts.Member("s-1"), "2022-06-18-15");
        Assert.Equal([("S-1", "2022-06-18-15"), ("s-1", "2022-06-18-15")], facts.Select(f => (f.Member, f.Partition)).Order());
        Assert.All(facts, f => Assert.Equal(MemberKind.Serial, f.Kind));
    }

    [Fact]
    public void Facts_come_in_the_index_key_order_member_key_then_partition_whatever_order_they_were_met_in()
    {
        var customers = new MembershipFacts(MemberKind.Customer, Keys);
        var hours = new[] { "2022-06-18-17", "2022-06-18-15", "2022-06-19-00", "2022-06-18-16" };
        for (var i = 0; i < 200; i++)
            foreach (var h in hours.Skip(i % 3)) customers.Add(customers.Member($"user{(i * 37) % 200}@example.com"), h);
        var yielded = customers.Select(f => (f.Member, f.Partition)).ToList();
        Assert.Equal(customers.Count, yielded.Count);
        Assert.Equal(yielded.Count, yielded.Distinct().Count());
        Assert.Equal(yielded.OrderBy(f => f.Member, StringComparer.Ordinal).ThenBy(f => f.Partition, StringComparer.Ordinal), yielded);

        var serials = new MembershipFacts(MemberKind.Serial, Keys);
        foreach (var (m, p) in new[] { ("S-9", "2022-06-18-16"), ("S-10", "2022-06-18-15"), ("S-9", "2022-06-18-15"), ("A-1", "2022-06-18-17") })
            serials.Add(serials.Member(m), p);
        Assert.Equal([("A-1", "2022-06-18-17"), ("S-10", "2022-06-18-15"), ("S-9", "2022-06-18-15"), ("S-9", "2022-06-18-16")],
            serials.Select(f => (f.Member, f.Partition)).ToList());
    }
}
