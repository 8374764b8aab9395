using System.Data;
using Microsoft.Data.Sqlite;

namespace Stedi.Lakehouse.Local.Tests;

using Stedi.Lakehouse.Index;

/// <summary>The SQLite index's own promises beyond the contracts: one connection, statements prepared once, parallel callers, the file.</summary>
public sealed class LocalIndexTests : IDisposable
{
    private readonly TempFolder _root = new();
    private readonly LocalIndex _local;

    public LocalIndexTests() => _local = Open();

    private string DatabasePath => Path.Combine(_root.Path, "lake", LocalLake.IndexFileName);

    private LocalIndex Open() => LocalIndex.Open(DatabasePath, HmacCustomerKeys.FromText("local-index-test-secret"));

    private LakeIndex Index => _local.Index;

    public void Dispose()
    {
        _local.Dispose();
        _root.Dispose();
    }

    private static CustomerVersion Version(string key, int n, string? serial = null) =>
        new(key, $"v{n:D6}", serial, n, n % 2 == 0, null, $"{{\"n\":{n}}}");

    /// <summary>One call of every port method, with <paramref name="size"/> keys where a method takes many.</summary>
    private async Task EveryMethodAsync(int round, int size)
    {
        var keys = Enumerable.Range(0, size).Select(i => $"c{round}-{i}").ToList();
        var work = keys.Select(k => new RefreshWork("accelerometer_trusted", k)).ToList();
        await Index.Customers.PutVersionsAsync([.. keys.Select((k, i) => Version(k, i, $"s{i}"))]);
        await Index.Customers.GetVersionsAsync(keys);
        await Index.Customers.GetCustomersBySerialAsync([.. keys.Select((_, i) => $"s{i}")]);
        await Index.Customers.RemoveVersionsAsync([new(keys[0], "v000000")]);
        await Index.Partitions.AddMembershipAsync([.. keys.Select(k => new PartitionMembership(MemberKind.Customer, k, $"h{round}"))]);
        await Index.Partitions.GetPartitionsAsync(MemberKind.Customer, keys);
        await Index.Partitions.ReplaceTrustedCountsAsync($"h{round}", keys.ToDictionary(k => k, _ => 1L));
        await Index.Partitions.GetTrustedCountsAsync($"h{round}");
        await Index.Partitions.GetCustomersWithTrustedReadingsAsync(keys);
        await Index.Ledger.PutAsync(new($"landing/{round}.json", "v1", "customer", $"hash{round}", "m"), replacing: null);
        await Index.Ledger.GetAsync($"landing/{round}.json");
        await Index.Ledger.FindByContentAsync($"hash{round}");
        await Index.Ledger.ListAsync();
        await Index.Ledger.DeleteAsync($"landing/{round}.json");
        await Index.Refine.PutOutcomeAsync(new("accelerometer_trusted", keys[0], 1, "h", null));
        await Index.Refine.GetOutcomeAsync("accelerometer_trusted", keys[0]);
        await Index.Refine.GetOutcomesAsync(work);
        await Index.Refine.ListOutcomesAsync();
        await Index.Refine.MarkPendingAsync(work, "p", TimeSpan.FromMinutes(5));
        await Index.Refine.ClearPendingAsync(work[0]);
    }

    [Fact]
    public async Task Every_call_uses_the_one_connection_opened_at_start_and_statements_prepared_once()
    {
        var connection = _local.Database.Connection;
        var stateChanges = 0;
        connection.StateChange += (_, _) => Interlocked.Increment(ref stateChanges);
        await EveryMethodAsync(0, 3);
        var statements = _local.Database.CachedCommands;

        // Key collections of every size go through one json_each parameter: no statement per size.
        for (var round = 1; round <= 60; round++) await EveryMethodAsync(round, round % 17 + 1);

        Assert.Same(connection, _local.Database.Connection);
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(0, stateChanges);
        Assert.Equal(statements, _local.Database.CachedCommands);
        Assert.InRange(statements, 20, 30);
    }

    [Fact]
    public async Task Two_threads_writing_and_reading_at_once_see_their_own_writes_and_whole_batches_of_the_other()
    {
        const int Rounds = 300;
        var start = new Barrier(2);

        // Writer/reader 1: customer versions in batches of 10, checking its own and the other's batches.
        var one = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < Rounds; i++)
            {
                var key = $"one-{i}";
                Index.Customers.PutVersionsAsync([.. Enumerable.Range(0, 10).Select(n => Version(key, n, $"serial-{i}"))]).GetAwaiter().GetResult();
                Assert.Equal(10, Index.Customers.GetVersionsAsync([key]).GetAwaiter().GetResult().Count);
                var other = Index.Partitions.GetPartitionsAsync(MemberKind.Serial, [$"two-{i}"]).GetAwaiter().GetResult();
                Assert.True(other.Count is 0 or 10, $"saw {other.Count} of a batch of 10");
            }
        }, TaskCreationOptions.LongRunning);

        // Writer/reader 2: membership in batches of 10, pending marks and the ledger, checking the other's batches.
        var two = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < Rounds; i++)
            {
                var member = $"two-{i}";
                Index.Partitions.AddMembershipAsync([.. Enumerable.Range(0, 10).Select(h => new PartitionMembership(MemberKind.Serial, member, $"h{h:D2}"))]).GetAwaiter().GetResult();
                Assert.Single(Index.Refine.MarkPendingAsync([new("t", member)], "two", TimeSpan.FromHours(1)).GetAwaiter().GetResult());
                Index.Ledger.PutAsync(new($"landing/{member}", "v1", "x", "", "m"), replacing: null).GetAwaiter().GetResult();
                var other = Index.Customers.GetVersionsAsync([$"one-{i}"]).GetAwaiter().GetResult();
                Assert.True(other.Count is 0 or 10, $"saw {other.Count} of a batch of 10");
            }
        }, TaskCreationOptions.LongRunning);

        await Task.WhenAll(one, two);

        Assert.Equal(Rounds * 10, (await Index.Customers.GetVersionsAsync([.. Enumerable.Range(0, Rounds).Select(i => $"one-{i}")])).Count);
        Assert.Equal(Rounds, (await Index.Customers.GetCustomersBySerialAsync([.. Enumerable.Range(0, Rounds).Select(i => $"serial-{i}")])).Count);
        Assert.Equal(10, (await Index.Partitions.GetPartitionsAsync(MemberKind.Serial, [.. Enumerable.Range(0, Rounds).Select(i => $"two-{i}")])).Count);
        Assert.Equal(Rounds, (await Index.Ledger.ListAsync()).Count);
    }

    [Fact]
    public async Task Keys_with_quotes_backslashes_and_any_unicode_are_looked_up_exactly()
    {
        string[] keys = ["a\"b", "a\\b", "tab\there", "new\nline", "ünïcödé", "emoji 🙂", "", "[\"x\"]", "nul\0byte"];
        await Index.Customers.PutVersionsAsync([.. keys.Select((k, i) => Version(k, i, k))]);
        await Index.Partitions.AddMembershipAsync([.. keys.Select(k => new PartitionMembership(MemberKind.Serial, k, k))]);

        Assert.Equal(keys.Order(StringComparer.Ordinal), (await Index.Customers.GetVersionsAsync(keys)).Select(v => v.CustomerKey));
        foreach (var key in keys)
        {
            Assert.Equal([key], (await Index.Customers.GetVersionsAsync([key])).Select(v => v.CustomerKey));
            Assert.Equal([(key, key)], await Index.Customers.GetCustomersBySerialAsync([key]));
            Assert.Equal([key], await Index.Partitions.GetPartitionsAsync(MemberKind.Serial, [key]));
        }
        var outcome = new PartitionOutcome("t\"1", "p\\🙂", 1, "h", null);
        await Index.Refine.PutOutcomeAsync(outcome);
        Assert.Equal(outcome, (await Index.Refine.GetOutcomesAsync([new(outcome.Table, outcome.Partition)]))[(outcome.Table, outcome.Partition)]);
    }

    [Fact]
    public async Task A_cancelled_or_failed_write_leaves_nothing_and_the_connection_usable()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Index.Customers.PutVersionsAsync([Version("ann", 1)], cancelled.Token));
        await Index.Ledger.PutAsync(new("k", "v1", "s", "h", "m"), replacing: null);
        await Assert.ThrowsAsync<LedgerConflictException>(() => Index.Ledger.PutAsync(new("k", "v2", "s", "h2", "m"), replacing: "v0"));

        Assert.Empty(await Index.Customers.GetVersionsAsync(["ann"]));
        Assert.Equal("v1", (await Index.Ledger.GetAsync("k"))?.IdempotencyKey);
        Assert.Empty(await Index.Ledger.FindByContentAsync("h2"));
        await Index.Customers.PutVersionsAsync([Version("ann", 1)]);
        Assert.Single(await Index.Customers.GetVersionsAsync(["ann"]));
    }

    [Fact]
    public async Task Pending_marks_go_stale_by_the_given_clock()
    {
        var clock = new ManualClock();
        using var local = LocalIndex.Open(Path.Combine(_root.Path, "clocked.sqlite"), HmacCustomerKeys.FromText("local-index-test-secret"), clock);
        RefreshWork[] work = [new("t", "p")];

        Assert.Equal(work, await local.Index.Refine.MarkPendingAsync(work, "a", TimeSpan.FromMinutes(5)));
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await local.Index.Refine.MarkPendingAsync(work, "b", TimeSpan.FromMinutes(5)));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(work, await local.Index.Refine.MarkPendingAsync(work, "b", TimeSpan.FromMinutes(5)));
        Assert.Empty(await local.Index.Refine.MarkPendingAsync(work, "c", TimeSpan.MaxValue));
    }

    [Fact]
    public async Task State_survives_closing_and_reopening_the_file()
    {
        var version = Version("ann", 1, "s1");
        await Index.Customers.PutVersionsAsync([version]);
        await Index.Refine.MarkPendingAsync([new("t", "p")], "a", TimeSpan.FromHours(1));
        await Index.Refine.PutOutcomeAsync(new("t", "p", 3, "h", "d"));
        _local.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Index.Customers.GetVersionsAsync(["ann"]));

        using var reopened = Open();

        Assert.Equal([version], await reopened.Index.Customers.GetVersionsAsync(["ann"]));
        Assert.Equal(new PartitionOutcome("t", "p", 3, "h", "d"), await reopened.Index.Refine.GetOutcomeAsync("t", "p"));
        Assert.Empty(await reopened.Index.Refine.MarkPendingAsync([new("t", "p")], "b", TimeSpan.FromHours(1)));
    }

    [Fact]
    public void A_file_with_a_newer_schema_is_refused()
    {
        var path = Path.Combine(_root.Path, "newer.sqlite");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version={SqliteLakeDatabase.SchemaVersion + 1};";
            command.ExecuteNonQuery();
        }

        Assert.Throws<InvalidDataException>(() => LocalIndex.Open(path, HmacCustomerKeys.FromText("local-index-test-secret")));
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2022, 6, 18, 15, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
