using System.Diagnostics;

namespace Stedi.Lakehouse.Local.Tests;

public sealed class SqliteConsentIndexTests : ConsentIndexContract, IDisposable
{
    private readonly TempFolder _root = new();
    private readonly SqliteConsentIndex _index;

    public SqliteConsentIndexTests() => _index = new SqliteConsentIndex(Path.Combine(_root.Path, "lake", "index.sqlite"));

    protected override Task<IConsentIndex> CreateIndexAsync() => Task.FromResult<IConsentIndex>(_index);

    public void Dispose()
    {
        _index.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task State_survives_reopening_the_file()
    {
        var version = new CustomerVersion("ann@example.com", "v1", "s1", 1, true, 2, "{}");
        await _index.PutCustomerVersionsAsync([version]);
        await _index.PutRefineOutcomeAsync("customer_trusted", "03", "{\"rows\":1}");
        _index.Dispose();

        using var reopened = new SqliteConsentIndex(_index.DatabasePath);

        Assert.Equal([version], await reopened.GetCustomerVersionsAsync(["ann@example.com"]));
        Assert.Equal("{\"rows\":1}", await reopened.GetRefineOutcomeAsync("customer_trusted", "03"));
    }

    [Fact]
    public async Task Hundred_thousand_versions_and_a_million_memberships_take_seconds()
    {
        var versions = Enumerable.Range(0, 100_000)
            .Select(i => new CustomerVersion($"c{i:D6}@example.com", $"{i:x64}", $"s{i % 10_000}", i, i % 2 == 0, null, "{\"email\":\"x\"}"))
            .ToList();
        var membership = Enumerable.Range(0, 1_000_000)
            .Select(i => new PartitionMembership("accelerometer", $"c{i % 100_000:D6}@example.com", $"2022-06-18-{i / 100_000:D2}"))
            .ToList();

        var clock = Stopwatch.StartNew();
        await _index.PutCustomerVersionsAsync(versions);
        await _index.AddMembershipAsync(membership);
        clock.Stop();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Equal(10, (await _index.GetPartitionsAsync("accelerometer", ["c000007@example.com"])).Count);
        Assert.Equal(10, (await _index.GetCustomerKeysBySerialAsync(["s7"])).Count);
    }

    [Fact]
    public async Task Reads_run_while_a_large_write_commits()
    {
        var writes = _index.AddMembershipAsync(
            [.. Enumerable.Range(0, 200_000).Select(i => new PartitionMembership("step_trainer", $"s{i}", "07"))]);
        var reads = Enumerable.Range(0, 20).Select(_ => _index.GetPartitionsAsync("step_trainer", ["s1"])).ToList();

        await writes;
        var results = await Task.WhenAll(reads);

        // Each read sees either the whole batch or none of it.
        Assert.All(results, r => Assert.True(r.Count == 0 || r.SequenceEqual(["07"])));
        Assert.Equal(["07"], await _index.GetPartitionsAsync("step_trainer", ["s199999"]));
    }
}
