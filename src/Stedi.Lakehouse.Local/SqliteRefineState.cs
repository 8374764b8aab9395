using Microsoft.Data.Sqlite;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// <see cref="IRefineState"/> over table <c>refine_state</c> of a <see cref="SqliteLakeDatabase"/>: one row per
/// (<c>table_name</c>, <c>partition</c>) holding the last outcome (<c>rows_out</c>, <c>output_hash</c>, <c>detail_key</c>;
/// <c>output_hash</c> NULL = no outcome yet) and the pending mark (<c>pending_by</c>, <c>pending_since_ms</c>; NULL = not
/// pending). A mark is stale when its age is at least <c>staleAfter</c>, so <see cref="TimeSpan.Zero"/> re-sends every mark.
/// </summary>
internal sealed class SqliteRefineState(SqliteLakeDatabase db, TimeProvider clock) : IRefineState
{
    private const string OutcomeColumns = "table_name, partition, rows_out, output_hash, detail_key";

    private static readonly SqlStatement Get = new(
        $"SELECT {OutcomeColumns} FROM refine_state WHERE table_name = $t AND partition = $p AND output_hash IS NOT NULL", "$t", "$p");

    private static readonly SqlStatement GetMany = new($"""
        SELECT {OutcomeColumns} FROM refine_state
        WHERE output_hash IS NOT NULL AND (table_name, partition) IN (SELECT value ->> 0, value ->> 1 FROM json_each($keys))
        """, "$keys");

    // The pending columns are left alone: a recompute that completes says nothing about work marked meanwhile.
    private static readonly SqlStatement PutOutcome = new($"""
        INSERT INTO refine_state ({OutcomeColumns}) VALUES ($t, $p, $r, $h, $d)
        ON CONFLICT (table_name, partition) DO UPDATE SET
            rows_out = excluded.rows_out, output_hash = excluded.output_hash, detail_key = excluded.detail_key
        """, "$t", "$p", "$r", "$h", "$d");

    private static readonly SqlStatement List = new(
        $"SELECT {OutcomeColumns} FROM refine_state WHERE output_hash IS NOT NULL ORDER BY table_name, partition");

    // The conditional write: one statement per item, changing a row only when the item must be sent; the number of
    // rows it changed (1 or 0) says which.
    private static readonly SqlStatement Mark = new("""
        INSERT INTO refine_state (table_name, partition, pending_by, pending_since_ms) VALUES ($t, $p, $by, $now)
        ON CONFLICT (table_name, partition) DO UPDATE SET
            pending_by = excluded.pending_by, pending_since_ms = excluded.pending_since_ms
        WHERE refine_state.pending_by IS NULL OR refine_state.pending_by = excluded.pending_by
            OR refine_state.pending_since_ms <= $cutoff
        """, "$t", "$p", "$by", "$now", "$cutoff");

    // A row that only held a mark goes; a row with an outcome keeps it.
    private static readonly SqlStatement DropMarkOnly = new(
        "DELETE FROM refine_state WHERE table_name = $t AND partition = $p AND output_hash IS NULL", "$t", "$p");

    private static readonly SqlStatement Clear = new(
        "UPDATE refine_state SET pending_by = NULL, pending_since_ms = NULL WHERE table_name = $t AND partition = $p", "$t", "$p");

    /// <inheritdoc />
    public Task<PartitionOutcome?> GetOutcomeAsync(string table, string partition, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(partition);
        return db.ReadAsync(() =>
        {
            var select = db.Command(Get);
            select.Parameters[0].Value = table;
            select.Parameters[1].Value = partition;
            using var r = select.ExecuteReader();
            return r.Read() ? Read(r) : null;
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<(string Table, string Partition), PartitionOutcome>> GetOutcomesAsync(IReadOnlyCollection<RefreshWork> partitions, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        if (partitions.Count == 0)
            return Task.FromResult<IReadOnlyDictionary<(string, string), PartitionOutcome>>(new Dictionary<(string, string), PartitionOutcome>());
        return db.ReadAsync<IReadOnlyDictionary<(string, string), PartitionOutcome>>(() =>
        {
            var select = db.Command(GetMany);
            select.Parameters[0].Value = db.JsonPairs(partitions.Select(w => (w.Table, w.Partition)));
            using var r = select.ExecuteReader();
            var result = new Dictionary<(string, string), PartitionOutcome>();
            while (r.Read())
            {
                var outcome = Read(r);
                result[(outcome.Table, outcome.Partition)] = outcome;
            }
            return result;
        }, ct);
    }

    /// <inheritdoc />
    public Task PutOutcomeAsync(PartitionOutcome outcome, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return db.WriteAsync(() =>
        {
            var upsert = db.Command(PutOutcome);
            upsert.Parameters[0].Value = outcome.Table;
            upsert.Parameters[1].Value = outcome.Partition;
            upsert.Parameters[2].Value = outcome.RowsOut;
            upsert.Parameters[3].Value = outcome.OutputHash;
            upsert.Parameters[4].Value = (object?)outcome.DetailKey ?? DBNull.Value;
            upsert.ExecuteNonQuery();
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PartitionOutcome>> ListOutcomesAsync(CancellationToken ct = default) =>
        db.ReadAsync<IReadOnlyList<PartitionOutcome>>(() =>
        {
            using var r = db.Command(List).ExecuteReader();
            var result = new List<PartitionOutcome>();
            while (r.Read()) result.Add(Read(r));
            return result;
        }, ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<RefreshWork>> MarkPendingAsync(IReadOnlyCollection<RefreshWork> work, string producer, TimeSpan staleAfter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentOutOfRangeException.ThrowIfLessThan(staleAfter, TimeSpan.Zero);
        if (work.Count == 0) return Task.FromResult<IReadOnlyList<RefreshWork>>([]);
        return db.WriteAsync<IReadOnlyList<RefreshWork>>(() =>
        {
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            // TimeSpan.MaxValue and the like: no mark is ever stale.
            var cutoff = staleAfter.TotalMilliseconds >= now ? long.MinValue : now - (long)staleAfter.TotalMilliseconds;
            var mark = db.Command(Mark);
            mark.Parameters[2].Value = producer;
            mark.Parameters[3].Value = now;
            mark.Parameters[4].Value = cutoff;
            var send = new List<RefreshWork>();
            // Duplicates in one call are sent once.
            foreach (var item in work.Distinct())
            {
                ct.ThrowIfCancellationRequested();
                mark.Parameters[0].Value = item.Table;
                mark.Parameters[1].Value = item.Partition;
                if (mark.ExecuteNonQuery() > 0) send.Add(item);
            }
            return send;
        }, ct);
    }

    /// <inheritdoc />
    public Task ClearPendingAsync(RefreshWork work, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return db.WriteAsync(() =>
        {
            foreach (var statement in (ReadOnlySpan<SqlStatement>)[DropMarkOnly, Clear])
            {
                var command = db.Command(statement);
                command.Parameters[0].Value = work.Table;
                command.Parameters[1].Value = work.Partition;
                command.ExecuteNonQuery();
            }
        }, ct);
    }

    private static PartitionOutcome Read(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4));
}
