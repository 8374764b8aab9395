using Stedi.Cli;
using Stedi.Lakehouse.Schema;
using Stedi.Lakehouse.Tests.Oracle;

namespace Stedi.Lakehouse.Tests;

/// <summary>
/// A deterministic subset of the real data (the customer file, the first two accelerometer files, the first Step Trainer
/// file — they overlap in time, so every table is non-empty) and the oracle's digests over it and over the full data.
/// </summary>
public sealed class OrderFixture : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly Dictionary<(string, ConsentProfile), Dictionary<string, (int Count, string Digest)>> _oracle = [];

    public OrderFixture()
    {
        var accel = Directory.GetFiles(Path.Combine(Repo.Landing, "accelerometer")).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(2).ToHashSet();
        var step = Directory.GetFiles(Path.Combine(Repo.Landing, "step_trainer")).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(1).ToHashSet();
        Subset = _temp.Sub("subset");
        Repo.CopyLanding(Repo.Landing, Subset, rel => rel.StartsWith("customer/", StringComparison.Ordinal)
            || accel.Contains(Path.GetFileName(rel)) || step.Contains(Path.GetFileName(rel)));
    }

    public string Subset { get; }

    public string Landing(bool full) => full ? Repo.Landing : Subset;

    public Dictionary<string, (int Count, string Digest)> Oracle(bool full, ConsentProfile profile)
    {
        lock (_oracle)
        {
            var key = (Landing(full), profile);
            if (!_oracle.TryGetValue(key, out var d))
                _oracle[key] = d = BatchOracle.Compute(Landing(full), profile)
                    .ToDictionary(kv => kv.Key, kv => (kv.Value.Count, Rows.Digest(Rows.Sorted(kv.Value))));
            return d;
        }
    }

    public string NewLake() => Path.Combine(_temp.Path, "lake-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => _temp.Dispose();
}

/// <summary>Guarantee 1: the tables are a function of the set of landing objects, not of delivery order, duplicates or concurrency.</summary>
public sealed class OrderIndependenceTests(OrderFixture data) : IClassFixture<OrderFixture>
{
    public static TheoryData<int, int, ConsentProfile> SubsetPermutations()
    {
        var d = new TheoryData<int, int, ConsentProfile>();
        for (var seed = 1; seed <= 20; seed++) d.Add(seed, 2 + seed % 2, ConsentProfile.Strict);
        for (var seed = 21; seed <= 24; seed++) d.Add(seed, 2 + seed % 2, ConsentProfile.Rubric);
        return d;
    }

    [Theory]
    [MemberData(nameof(SubsetPermutations))]
    public Task Shuffled_duplicated_concurrent_delivery_of_a_subset_gives_the_oracle_tables(int seed, int parallelism, ConsentProfile profile) =>
        AssertPermutation(full: false, seed, parallelism, profile);

    [Theory]
    [InlineData(101, 3, ConsentProfile.Strict)]
    [InlineData(202, 2, ConsentProfile.Strict)]
    [InlineData(303, 3, ConsentProfile.Rubric)]
    public Task Shuffled_duplicated_concurrent_delivery_of_the_full_data_gives_the_oracle_tables(int seed, int parallelism, ConsentProfile profile) =>
        AssertPermutation(full: true, seed, parallelism, profile);

    [Fact]
    public void Subset_oracle_tables_are_all_non_empty()
    {
        foreach (var profile in new[] { ConsentProfile.Strict, ConsentProfile.Rubric })
            foreach (var (table, (count, _)) in data.Oracle(false, profile))
                Assert.True(count > 0, $"{profile} {table} is empty on the subset: the permutations would prove little");
    }

    private async Task AssertPermutation(bool full, int seed, int parallelism, ConsentProfile profile)
    {
        var lake = data.NewLake();
        try
        {
            using var run = await LakeRun.RunAsync(data.Landing(full), lake, profile,
                new ReplayOptions(ShuffleSeed: seed, Duplicate: true), parallelism, new Random(seed));
            var oracle = data.Oracle(full, profile);
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
