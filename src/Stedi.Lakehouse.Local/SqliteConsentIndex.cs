using System.Text.Json;
using Microsoft.Data.Sqlite;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// An <see cref="IConsentIndex"/> in one SQLite file (WAL mode). Safe for concurrent use by the threads of one
/// process: every operation opens its own (pooled) connection, writes are serialised by an in-process lock and
/// run in one <c>BEGIN IMMEDIATE</c> transaction with prepared commands, and other processes are waited for
/// through SQLite's busy timeout.
/// </summary>
/// <remarks>
/// Tables: <c>customer_versions</c>, <c>membership</c>, <c>trusted_counts</c>, <c>ledger</c>, <c>refine_outcomes</c>.
/// Look-ups by large key collections are split into chunks of <see cref="ChunkSize"/> parameters.
/// </remarks>
public sealed class SqliteConsentIndex : IConsentIndex, IDisposable
{
    /// <summary>Parameters per IN-list (SQLite allows 32766; smaller chunks keep statements cacheable).</summary>
    public const int ChunkSize = 500;

    private const int BusyTimeoutMs = 30_000;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _disposed;

    /// <summary>Opens (creating when missing) the index database file and its tables.</summary>
    /// <param name="databasePath">Path of the SQLite file, e.g. <c>&lt;lake&gt;/index.sqlite</c>; its folder is created.</param>
    /// <exception cref="SqliteException">The file cannot be opened or is not a SQLite database.</exception>
    public SqliteConsentIndex(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            // No pooling: a pooled connection once came back with a transaction still open after a failed statement
            // ("cannot start a transaction within a transaction" under parallel ingest); a fresh connection costs microseconds.
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS customer_versions (
                customer_key TEXT NOT NULL, version_id TEXT NOT NULL, serial TEXT, last_update INTEGER,
                consented INTEGER NOT NULL, consent_time INTEGER, canonical TEXT NOT NULL,
                PRIMARY KEY (customer_key, version_id)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS customer_versions_serial ON customer_versions (serial) WHERE serial IS NOT NULL;
            CREATE TABLE IF NOT EXISTS membership (
                kind TEXT NOT NULL, member TEXT NOT NULL, partition TEXT NOT NULL,
                PRIMARY KEY (kind, member, partition)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS trusted_counts (
                partition TEXT NOT NULL, customer_key TEXT NOT NULL, count INTEGER NOT NULL,
                PRIMARY KEY (partition, customer_key)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS trusted_counts_customer ON trusted_counts (customer_key, count);
            CREATE TABLE IF NOT EXISTS ledger (
                landing_key TEXT PRIMARY KEY NOT NULL, idempotency_key TEXT NOT NULL, source TEXT NOT NULL,
                staged_keys TEXT NOT NULL, manifest_json TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS refine_outcomes (
                table_name TEXT NOT NULL, partition TEXT NOT NULL, json TEXT NOT NULL,
                PRIMARY KEY (table_name, partition)) WITHOUT ROWID;
            """);
    }

    /// <summary>Absolute path of the database file.</summary>
    public string DatabasePath { get; }

    /// <inheritdoc />
    public Task PutCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default) =>
        WriteAsync((connection, transaction) => BulkInsert(connection, transaction,
            "INSERT OR IGNORE INTO customer_versions (customer_key, version_id, serial, last_update, consented, consent_time, canonical) VALUES ",
            7, versions, (v, p, at) =>
            {
                p[at].Value = v.CustomerKey;
                p[at + 1].Value = v.VersionId;
                p[at + 2].Value = (object?)v.SerialNumber ?? DBNull.Value;
                p[at + 3].Value = (object?)v.LastUpdateDate ?? DBNull.Value;
                p[at + 4].Value = v.Consented ? 1 : 0;
                p[at + 5].Value = (object?)v.ConsentTime ?? DBNull.Value;
                p[at + 6].Value = v.Canonical;
            }, ct), ct);

    /// <inheritdoc />
    public Task RemoveCustomerVersionsAsync(IReadOnlyCollection<CustomerVersion> versions, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Count == 0) return Task.CompletedTask;
        return WriteAsync((connection, transaction) =>
        {
            using var delete = Command(connection, transaction, "DELETE FROM customer_versions WHERE customer_key = $k AND version_id = $v", "$k", "$v");
            foreach (var v in versions)
            {
                ct.ThrowIfCancellationRequested();
                delete.Parameters[0].Value = v.CustomerKey;
                delete.Parameters[1].Value = v.VersionId;
                delete.ExecuteNonQuery();
            }
        }, ct);
    }

    /// <inheritdoc />
    public Task DeleteLedgerEntryAsync(string landingKey, CancellationToken ct = default) =>
        WriteAsync((connection, transaction) =>
        {
            using var delete = Command(connection, transaction, "DELETE FROM ledger WHERE landing_key = $k", "$k");
            delete.Parameters[0].Value = landingKey;
            delete.ExecuteNonQuery();
        }, ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<CustomerVersion>> GetCustomerVersionsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default) =>
        ReadChunkedAsync(customerKeys,
            "SELECT customer_key, version_id, serial, last_update, consented, consent_time, canonical FROM customer_versions WHERE customer_key IN ({0}) ORDER BY customer_key, version_id",
            r => new CustomerVersion(
                r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3),
                r.GetInt64(4) != 0, r.IsDBNull(5) ? null : r.GetInt64(5), r.GetString(6)), ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<(string Serial, string CustomerKey)>> GetCustomerKeysBySerialAsync(IReadOnlyCollection<string> serials, CancellationToken ct = default) =>
        ReadChunkedAsync(serials,
            "SELECT DISTINCT serial, customer_key FROM customer_versions WHERE serial IN ({0}) ORDER BY serial, customer_key",
            r => (r.GetString(0), r.GetString(1)), ct);

    /// <inheritdoc />
    public Task AddMembershipAsync(IReadOnlyCollection<PartitionMembership> items, CancellationToken ct = default) =>
        WriteAsync((connection, transaction) => BulkInsert(connection, transaction,
            "INSERT OR IGNORE INTO membership (kind, member, partition) VALUES ", 3, items, (m, p, at) =>
            {
                p[at].Value = m.Kind;
                p[at + 1].Value = m.Member;
                p[at + 2].Value = m.Partition;
            }, ct), ct);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetPartitionsAsync(string kind, IReadOnlyCollection<string> members, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var rows = await ReadChunkedAsync(members,
            "SELECT DISTINCT partition FROM membership WHERE kind = $kind AND member IN ({0})",
            r => r.GetString(0), ct, ("$kind", kind)).ConfigureAwait(false);
        return rows.Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, long>> ReplaceTrustedReadingCountsAsync(string partition, IReadOnlyDictionary<string, long> counts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(counts);
        var previous = new Dictionary<string, long>(StringComparer.Ordinal);
        await WriteAsync((connection, transaction) =>
        {
            using (var select = Command(connection, transaction, "SELECT customer_key, count FROM trusted_counts WHERE partition = $p", "$p"))
            {
                select.Parameters[0].Value = partition;
                using var reader = select.ExecuteReader();
                while (reader.Read()) previous[reader.GetString(0)] = reader.GetInt64(1);
            }
            using (var delete = Command(connection, transaction, "DELETE FROM trusted_counts WHERE partition = $p", "$p"))
            {
                delete.Parameters[0].Value = partition;
                delete.ExecuteNonQuery();
            }
            using var insert = Command(connection, transaction,
                "INSERT INTO trusted_counts (partition, customer_key, count) VALUES ($p, $k, $c)", "$p", "$k", "$c");
            insert.Parameters[0].Value = partition;
            foreach (var (key, count) in counts)
            {
                ct.ThrowIfCancellationRequested();
                insert.Parameters[1].Value = key;
                insert.Parameters[2].Value = count;
                insert.ExecuteNonQuery();
            }
        }, ct).ConfigureAwait(false);
        return previous;
    }

    /// <inheritdoc />
    public async Task<IReadOnlySet<string>> GetCustomersWithTrustedReadingsAsync(IReadOnlyCollection<string> customerKeys, CancellationToken ct = default)
    {
        var rows = await ReadChunkedAsync(customerKeys,
            "SELECT DISTINCT customer_key FROM trusted_counts WHERE count > 0 AND customer_key IN ({0})",
            r => r.GetString(0), ct).ConfigureAwait(false);
        return rows.ToHashSet(StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public Task<LedgerEntry?> GetLedgerEntryAsync(string landingKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(landingKey);
        return ReadAsync(connection =>
        {
            using var select = Command(connection, null,
                "SELECT landing_key, idempotency_key, source, staged_keys, manifest_json FROM ledger WHERE landing_key = $k", "$k");
            select.Parameters[0].Value = landingKey;
            using var reader = select.ExecuteReader();
            return reader.Read() ? ReadLedger(reader) : null;
        }, ct);
    }

    /// <inheritdoc />
    public Task PutLedgerEntryAsync(LedgerEntry entry, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return WriteAsync((connection, transaction) =>
        {
            using var upsert = Command(connection, transaction, """
                INSERT OR REPLACE INTO ledger (landing_key, idempotency_key, source, staged_keys, manifest_json)
                VALUES ($k, $i, $s, $st, $m)
                """, "$k", "$i", "$s", "$st", "$m");
            upsert.Parameters[0].Value = entry.LandingKey;
            upsert.Parameters[1].Value = entry.IdempotencyKey;
            upsert.Parameters[2].Value = entry.Source;
            upsert.Parameters[3].Value = JsonSerializer.Serialize(entry.StagedKeys.ToArray(), LocalJsonContext.Default.StringArray);
            upsert.Parameters[4].Value = entry.ManifestJson;
            upsert.ExecuteNonQuery();
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<LedgerEntry>> ListLedgerAsync(CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<LedgerEntry>>(connection =>
        {
            using var select = Command(connection, null,
                "SELECT landing_key, idempotency_key, source, staged_keys, manifest_json FROM ledger ORDER BY landing_key");
            using var reader = select.ExecuteReader();
            var result = new List<LedgerEntry>();
            while (reader.Read()) result.Add(ReadLedger(reader));
            return result;
        }, ct);

    /// <inheritdoc />
    public Task PutRefineOutcomeAsync(string table, string partition, string outcomeJson, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(outcomeJson);
        return WriteAsync((connection, transaction) =>
        {
            using var upsert = Command(connection, transaction,
                "INSERT OR REPLACE INTO refine_outcomes (table_name, partition, json) VALUES ($t, $p, $j)", "$t", "$p", "$j");
            upsert.Parameters[0].Value = table;
            upsert.Parameters[1].Value = partition;
            upsert.Parameters[2].Value = outcomeJson;
            upsert.ExecuteNonQuery();
        }, ct);
    }

    /// <inheritdoc />
    public Task<string?> GetRefineOutcomeAsync(string table, string partition, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(partition);
        return ReadAsync(connection =>
        {
            using var select = Command(connection, null,
                "SELECT json FROM refine_outcomes WHERE table_name = $t AND partition = $p", "$t", "$p");
            select.Parameters[0].Value = table;
            select.Parameters[1].Value = partition;
            return select.ExecuteScalar() as string;
        }, ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<(string Table, string Partition, string OutcomeJson)>> ListRefineOutcomesAsync(CancellationToken ct = default) =>
        ReadAsync<IReadOnlyList<(string, string, string)>>(connection =>
        {
            using var select = Command(connection, null, "SELECT table_name, partition, json FROM refine_outcomes ORDER BY table_name, partition");
            using var reader = select.ExecuteReader();
            var result = new List<(string, string, string)>();
            while (reader.Read()) result.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            return result;
        }, ct);

    /// <summary>Releases pooled connections so that the database file can be moved or deleted.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        using (var connection = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(connection);
        _writeLock.Dispose();
    }

    private static LedgerEntry ReadLedger(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2),
        JsonSerializer.Deserialize(r.GetString(3), LocalJsonContext.Default.StringArray) ?? [],
        r.GetString(4));

    private SqliteConnection Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        if (parameters.Length > 0) command.Prepare();
        return command;
    }

    /// <summary>Rows per multi-row INSERT: one statement per 100 rows costs far less than one per row.</summary>
    private const int RowsPerInsert = 100;

    private static void BulkInsert<T>(
        SqliteConnection connection, SqliteTransaction transaction, string insertPrefix, int columns,
        IReadOnlyCollection<T> items, Action<T, SqliteParameterCollection, int> bind, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(items);
        SqliteCommand Build(int rows)
        {
            var values = string.Join(',', Enumerable.Range(0, rows).Select(r =>
                "(" + string.Join(',', Enumerable.Range(0, columns).Select(c => $"$p{r * columns + c}")) + ")"));
            return Command(connection, transaction, insertPrefix + values,
                [.. Enumerable.Range(0, rows * columns).Select(i => $"$p{i}")]);
        }
        using var full = Build(RowsPerInsert);
        foreach (var chunk in items.Chunk(RowsPerInsert))
        {
            ct.ThrowIfCancellationRequested();
            if (chunk.Length == RowsPerInsert)
            {
                for (var r = 0; r < chunk.Length; r++) bind(chunk[r], full.Parameters, r * columns);
                full.ExecuteNonQuery();
            }
            else
            {
                using var tail = Build(chunk.Length);
                for (var r = 0; r < chunk.Length; r++) bind(chunk[r], tail.Parameters, r * columns);
                tail.ExecuteNonQuery();
            }
        }
    }

    private async Task WriteAsync(Action<SqliteConnection, SqliteTransaction> write, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // SQLite is synchronous; run off the caller's thread so async callers are not blocked on a large batch.
            await Task.Run(() =>
            {
                using var connection = Open();
                using var transaction = connection.BeginTransaction(deferred: false);
                write(connection, transaction);
                transaction.Commit();
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken ct) =>
        Task.Run(() =>
        {
            using var connection = Open();
            return read(connection);
        }, ct);

    private Task<IReadOnlyList<T>> ReadChunkedAsync<T>(
        IReadOnlyCollection<string> keys, string sqlWithInList, Func<SqliteDataReader, T> map, CancellationToken ct,
        params (string Name, object Value)[] extra)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var distinct = keys.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length == 0) return Task.FromResult<IReadOnlyList<T>>([]);
        return ReadAsync<IReadOnlyList<T>>(connection =>
        {
            var result = new List<T>();
            // One read transaction so every chunk sees the same snapshot.
            using var transaction = connection.BeginTransaction(deferred: true);
            foreach (var chunk in distinct.Chunk(ChunkSize))
            {
                ct.ThrowIfCancellationRequested();
                using var select = connection.CreateCommand();
                select.Transaction = transaction;
                select.CommandText = string.Format(
                    System.Globalization.CultureInfo.InvariantCulture, sqlWithInList,
                    string.Join(',', Enumerable.Range(0, chunk.Length).Select(i => $"$p{i}")));
                for (var i = 0; i < chunk.Length; i++) select.Parameters.AddWithValue($"$p{i}", chunk[i]);
                foreach (var (name, value) in extra) select.Parameters.AddWithValue(name, value);
                using var reader = select.ExecuteReader();
                while (reader.Read()) result.Add(map(reader));
            }
            transaction.Commit();
            return result;
        }, ct);
    }
}
