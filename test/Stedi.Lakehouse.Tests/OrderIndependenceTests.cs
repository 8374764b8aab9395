using Stedi.Twin;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>
/// The landing folders of the permutations (<see cref="EdgeScenario"/>: a deterministic subset of the real data cut into
/// ten objects, and the same with the edge-case files added) and the oracle's digests over them and over the full data.
/// </summary>
public enum Data { Full, Subset, Edge }

public sealed class OrderFixture : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly Dictionary<(string, ConsentProfile), Dictionary<string, (int Count, string Digest)>> _oracle = [];

    public OrderFixture()
    {
        Subset = _temp.Sub("subset");
        EdgeScenario.WriteSubset(Subset);
        Edge = _temp.Sub("subset-edge");
        EdgeScenario.WriteSubset(Edge);
        Changed = EdgeScenario.WriteChanges(Edge);
    }

    /// <summary>The subset plus the later customer file and the variant readings of <see cref="EdgeScenario"/>.</summary>
    public string Edge { get; }

    public EdgeScenario.EdgeCustomers Changed { get; }

    public string Subset { get; }

    public string Landing(Data data) => data switch { Data.Full => Repo.Landing, Data.Subset => Subset, _ => Edge };

    public Dictionary<string, (int Count, string Digest)> Oracle(Data data, ConsentProfile profile)
    {
        lock (_oracle)
        {
            var key = (Landing(data), profile);
            if (!_oracle.TryGetValue(key, out var d))
                _oracle[key] = d = BatchOracle.Compute(Landing(data), profile)
                    .ToDictionary(kv => kv.Key, kv => (kv.Value.Count, Rows.Digest(Rows.Sorted(kv.Value))));
            return d;
        }
    }

    public string NewLake() => Path.Combine(_temp.Path, "lake-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => _temp.Dispose();
}

/// <summary>Guarantee 1: the tables are a function of the set of landing objects, not of delivery order, duplicates or concurrency.</summary>
public sealed class OrderIndependenceTests(OrderFixture fixture) : IClassFixture<OrderFixture>
{
    public static TheoryData<int, int, ConsentProfile, Data> SubsetPermutations()
    {
        var d = new TheoryData<int, int, ConsentProfile, Data>();
        for (var seed = 1; seed <= 10; seed++) d.Add(seed, 2 + seed % 2, ConsentProfile.Strict, Data.Subset);
        for (var seed = 11; seed <= 20; seed++) d.Add(seed, 2 + seed % 2, ConsentProfile.Strict, Data.Edge);
        for (var seed = 21; seed <= 24; seed++) d.Add(seed, 2 + seed % 2, ConsentProfile.Rubric, Data.Edge);
        return d;
    }

    [Theory]
    [MemberData(nameof(SubsetPermutations))]
    public Task Shuffled_duplicated_concurrent_delivery_of_a_subset_gives_the_oracle_tables(int seed, int parallelism, ConsentProfile profile, Data data) =>
        AssertPermutation(data, seed, parallelism, profile);

    [Theory]
    [InlineData(101, 3, ConsentProfile.Strict)]
    [InlineData(202, 2, ConsentProfile.Strict)]
    [InlineData(303, 3, ConsentProfile.Rubric)]
    public Task Shuffled_duplicated_concurrent_delivery_of_the_full_data_gives_the_oracle_tables(int seed, int parallelism, ConsentProfile profile) =>
        AssertPermutation(Data.Full, seed, parallelism, profile);

    [Theory]
    [InlineData(ConsentProfile.Strict, Data.Edge)]
    [InlineData(ConsentProfile.Rubric, Data.Edge)]
    public async Task Key_ordered_delivery_of_the_edge_cases_gives_the_oracle_tables(ConsentProfile profile, Data data)
    {
        var lake = fixture.NewLake();
        try
        {
            using var run = await LakeRun.RunAsync(fixture.Landing(data), lake, profile, new ReplayOptions(), 1);
            var oracle = BatchOracle.Compute(fixture.Landing(data), profile);
            var tables = run.ReadAllSorted();
            foreach (var table in BatchOracle.TableNames) Rows.AssertSameRows($"{profile} {table}", Rows.Sorted(oracle[table]), tables[table]);
        }
        finally
        {
            try { Directory.Delete(lake, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public void Subset_oracle_tables_are_all_non_empty()
    {
        foreach (var profile in new[] { ConsentProfile.Strict, ConsentProfile.Rubric })
            foreach (var d in new[] { Data.Subset, Data.Edge })
                foreach (var (table, (count, _)) in fixture.Oracle(d, profile))
                    Assert.True(count > 0, $"{profile} {table} is empty on {d}: the permutations would prove little");
    }

    [Fact]
    public void Edge_scenario_exercises_every_strict_rule_in_the_oracle()
    {
        var before = BatchOracle.Compute(fixture.Subset, ConsentProfile.Strict);
        var after = BatchOracle.Compute(fixture.Edge, ConsentProfile.Strict);
        foreach (var table in BatchOracle.TableNames)
            Assert.False(Rows.Sorted(before[table]).SequenceEqual(Rows.Sorted(after[table])), $"{table} unchanged by the edge files");
        var c = fixture.Changed;
        static string Key(object? email) => ((string)email!).Trim().ToLowerInvariant();
        // Withdrawal and tie (the greater canonical form withdraws): gone from customer_trusted.
        Assert.Contains(before["customer_trusted"], r => Key(r[1]) == c.Tie.Key);
        Assert.DoesNotContain(after["customer_trusted"], r => Key(r[1]) == c.Tie.Key || Key(r[1]) == c.Withdrawn.Key);
        // Grant under an upper-cased email, published in its join form.
        Assert.Contains(after["customer_trusted"], r => (string)r[1]! == c.Granted.Key);
        // Shared serial: some of the consenting owner's Step Trainer readings are no longer attributable.
        int Steps(Dictionary<string, List<object?[]>> t) => t["step_trainer_trusted"].Count(r => (string)r[1]! == c.SharedOwner.SerialNumber);
        Assert.True(Steps(after) > 0 && Steps(after) < Steps(before), $"shared serial: {Steps(before)} -> {Steps(after)}");
        // Readings whose user differs in case/whitespace are the same customer's: published in the join form (trimmed,
        // lower-cased), the six variants of existing readings collapse onto them, and no user is published otherwise.
        Assert.Equal(before["accelerometer_trusted"].Count(r => Key(r[0]) == c.ReadingsUser.Key), after["accelerometer_trusted"].Count(r => Key(r[0]) == c.ReadingsUser.Key));
        Assert.All(after["accelerometer_trusted"], r => Assert.Equal(Key(r[0]), (string)r[0]!));
    }

    private async Task AssertPermutation(Data which, int seed, int parallelism, ConsentProfile profile)
    {
        var lake = fixture.NewLake();
        try
        {
            using var run = await LakeRun.RunAsync(fixture.Landing(which), lake, profile,
                new ReplayOptions(ShuffleSeed: seed, Duplicate: true), parallelism, new Random(seed));
            var oracle = fixture.Oracle(which, profile);
            var tables = run.ReadAllSorted();
            foreach (var table in BatchOracle.TableNames)
            {
                var (count, digest) = oracle[table];
                Assert.True(count == tables[table].Count, $"seed {seed}: {table} has {tables[table].Count} rows, oracle {count}");
                Assert.True(digest == Rows.Digest(tables[table]), $"seed {seed}: {table} rows differ from the oracle's (same count {count})");
                Assert.Equal(count, run.Summary.Tables[table]);
            }
            Assert.Equal(0, run.Summary.Failed);
        }
        finally
        {
            try { Directory.Delete(lake, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
