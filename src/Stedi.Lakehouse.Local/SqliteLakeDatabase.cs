using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Stedi.Lakehouse.Local;

/// <summary>A SQL statement and its parameter names, declared once; the database prepares it once and reuses it.</summary>
/// <param name="Text">One SQL statement.</param>
/// <param name="Parameters">Its parameter names (<c>$name</c>), in the order callers bind them.</param>
internal sealed record SqlStatement(string Text, params string[] Parameters);

/// <summary>
/// One SQLite lake database shared by the index adapters (<see cref="SqliteCustomerIndex"/>, <see cref="SqlitePartitionIndex"/>,
/// <see cref="SqliteLedger"/>, <see cref="SqliteRefineState"/>): one connection opened once, its PRAGMAs set once, the
/// schema, and prepared commands created on first use and reused. A lock serialises every call on the connection
/// (a connection is not thread-safe); each write runs in one <c>BEGIN IMMEDIATE</c> transaction, each read is one
/// statement (its own snapshot). Other processes are waited for through the busy timeout.
/// </summary>
internal sealed class SqliteLakeDatabase : IDisposable
{
    /// <summary>The schema this code writes (<c>PRAGMA user_version</c>); a file with a newer one is refused.</summary>
    internal const int SchemaVersion = 1;

    private const int BusyTimeoutMs = 30_000;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS customer_version (
            customer_key TEXT NOT NULL, version_id TEXT NOT NULL, serial TEXT, last_update_ms INTEGER,
            consented INTEGER NOT NULL, consent_time_ms INTEGER, canonical TEXT NOT NULL,
            PRIMARY KEY (customer_key, version_id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS customer_version_by_serial ON customer_version (serial, customer_key) WHERE serial IS NOT NULL;
        CREATE TABLE IF NOT EXISTS membership (
            kind TEXT NOT NULL, member TEXT NOT NULL, partition TEXT NOT NULL,
            PRIMARY KEY (kind, member, partition)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS trusted_count (
            partition TEXT NOT NULL, customer_key TEXT NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (partition, customer_key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS trusted_count_positive ON trusted_count (customer_key) WHERE count > 0;
        CREATE TABLE IF NOT EXISTS ledger (
            landing_key TEXT NOT NULL PRIMARY KEY, idempotency_key TEXT NOT NULL, source TEXT NOT NULL,
            content_hash TEXT NOT NULL, manifest_key TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ledger_by_content ON ledger (content_hash, landing_key) WHERE content_hash <> '';
        CREATE TABLE IF NOT EXISTS refine_state (
            table_name TEXT NOT NULL, partition TEXT NOT NULL,
            rows_out INTEGER, output_hash TEXT, detail_key TEXT,
            pending_by TEXT, pending_since_ms INTEGER,
            PRIMARY KEY (table_name, partition)) WITHOUT ROWID;
        """;

    // JSON for json_each: non-ASCII stays as UTF-8 text (only quotes, backslashes and controls are escaped).
    private static readonly JsonWriterOptions KeyJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<SqlStatement, SqliteCommand> _commands = new(ReferenceEqualityComparer.Instance);
    private readonly ArrayBufferWriter<byte> _jsonBuffer = new();
    private SqliteTransaction? _transaction;
    private bool _disposed;

    /// <summary>Opens (creating when missing) the database file, sets its PRAGMAs and creates the schema.</summary>
    /// <exception cref="SqliteException">The file cannot be opened or is not a SQLite database.</exception>
    /// <exception cref="InvalidDataException">The file was written by a newer schema.</exception>
    public SqliteLakeDatabase(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            // The connection lives as long as this object; a pool would only hide it (and once handed back a
            // connection still inside a transaction, see SqliteConsentIndex).
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString());
        try
        {
            _connection.Open();
            // A checkpoint (copying the write-ahead log back into the file, with two fsyncs) runs inside the commit that
            // fills the log, under our lock. Every 10,000 pages (40 MiB) instead of SQLite's default 1,000: at 100× the
            // real data the membership writes alone went from 6.5 to 3.7 s in a replay of their shape, the fsyncs being
            // most of it on this machine's disk. Durability is unchanged (synchronous=NORMAL: a killed process loses nothing).
            Execute($"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000; PRAGMA busy_timeout={BusyTimeoutMs}; " +
                    "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;");
            using var tx = _connection.BeginTransaction(deferred: false);
            using (var version = _connection.CreateCommand())
            {
                version.Transaction = tx;
                version.CommandText = "PRAGMA user_version;";
                var found = Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                if (found > SchemaVersion)
                    throw new InvalidDataException($"{DatabasePath} has index schema {found}; this build knows schema {SchemaVersion} at most");
            }
            using (var create = _connection.CreateCommand())
            {
                create.Transaction = tx;
                create.CommandText = Schema + $"PRAGMA user_version={SchemaVersion};";
                create.ExecuteNonQuery();
            }
            tx.Commit();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>Absolute path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The one connection (tests watch its state to prove it is never reopened).</summary>
    internal SqliteConnection Connection => _connection;

    /// <summary>Prepared commands held (one per statement used so far, whatever the sizes of the calls).</summary>
    internal int CachedCommands
    {
        get { lock (_commands) return _commands.Count; }
    }

    /// <summary>Runs <paramref name="write"/> in one <c>BEGIN IMMEDIATE</c> transaction under the lock; an exception rolls it back.</summary>
    public async Task<T> WriteAsync<T>(Func<T> write, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            ct.ThrowIfCancellationRequested();
            using var tx = _connection.BeginTransaction(deferred: false);
            _transaction = tx;
            try
            {
                var result = write();
                tx.Commit();
                return result;
            }
            finally
            {
                _transaction = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> in one <c>BEGIN IMMEDIATE</c> transaction under the lock, synchronously: for callers
    /// that must record a change before they release a lock of their own (the work journal).
    /// </summary>
    public void Write(Action write)
    {
        _gate.Wait();
        try
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            _transaction = tx;
            try
            {
                write();
                tx.Commit();
            }
            finally
            {
                _transaction = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="write"/> in one <c>BEGIN IMMEDIATE</c> transaction under the lock; an exception rolls it back.</summary>
    public Task WriteAsync(Action write, CancellationToken ct) => WriteAsync(() => { write(); return true; }, ct);

    /// <summary>Runs <paramref name="read"/> under the lock. Reads here are single statements: each is its own consistent snapshot.</summary>
    public async Task<T> ReadAsync<T>(Func<T> read, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            ct.ThrowIfCancellationRequested();
            return read();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The prepared command of a statement, bound to the current transaction. Call only inside
    /// <see cref="WriteAsync{T}"/> or <see cref="ReadAsync{T}"/>; set its parameters by position and execute it.
    /// </summary>
    public SqliteCommand Command(SqlStatement statement)
    {
        if (!_commands.TryGetValue(statement, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = statement.Text;
            foreach (var name in statement.Parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
            command.Transaction = _transaction;
            command.Prepare();
            lock (_commands) _commands.Add(statement, command);
        }
        command.Transaction = _transaction;
        return command;
    }

    /// <summary>
    /// The keys as one JSON array of strings, for <c>IN (SELECT value FROM json_each($keys))</c>: one parameter and
    /// one prepared statement whatever the number of keys (instead of an IN list re-prepared per size).
    /// </summary>
    public string JsonArray(IEnumerable<string> keys)
    {
        _jsonBuffer.Clear();
        using (var writer = new Utf8JsonWriter(_jsonBuffer, KeyJson))
        {
            writer.WriteStartArray();
            foreach (var key in keys)
            {
                ArgumentNullException.ThrowIfNull(key, nameof(keys));
                writer.WriteStringValue(key);
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(_jsonBuffer.WrittenSpan);
    }

    /// <summary>Pairs as one JSON array of two-string arrays, for <c>json_each</c> with <c>value -&gt;&gt; 0</c> and <c>value -&gt;&gt; 1</c>.</summary>
    public string JsonPairs(IEnumerable<(string First, string Second)> pairs)
    {
        _jsonBuffer.Clear();
        using (var writer = new Utf8JsonWriter(_jsonBuffer, KeyJson))
        {
            writer.WriteStartArray();
            foreach (var (first, second) in pairs)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(first);
                writer.WriteStringValue(second);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(_jsonBuffer.WrittenSpan);
    }

    /// <summary>Closes the connection after the call in progress, if any, has finished.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _gate.Wait();
        try
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var command in _commands.Values) command.Dispose();
            lock (_commands) _commands.Clear();
            _connection.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task EnterAsync(CancellationToken ct)
    {
        // Uncontended, WaitAsync completes synchronously and the call runs on the caller's thread without a hop.
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        if (_disposed)
        {
            _gate.Release();
            throw new ObjectDisposedException(nameof(SqliteLakeDatabase), $"the index database {DatabasePath} is closed");
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
