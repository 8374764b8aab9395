using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// The index ports (<see cref="LakeIndex"/>) over one SQLite file: customer versions, partition membership and trusted
/// counts, the ingest ledger, refine outcomes and pending marks, each its own table. One connection is opened for the
/// life of this object and its statements are prepared once; calls are serialised on it, so any number of threads may
/// call (each port method is one transaction). Dispose it to close the file.
/// </summary>
/// <remarks>
/// Tables: <c>customer_version</c>, <c>membership</c>, <c>trusted_count</c>, <c>ledger</c>, <c>refine_state</c>
/// (<c>PRAGMA user_version</c> 1). Another process may open the same file: writers wait for each other up to 30 s.
/// </remarks>
public sealed class LocalIndex : IDisposable
{
    private readonly SqliteLakeDatabase _db;

    private LocalIndex(SqliteLakeDatabase db, ICustomerKeys keys, TimeProvider clock)
    {
        _db = db;
        Index = new LakeIndex(
            new SqliteCustomerIndex(db), new SqlitePartitionIndex(db), new SqliteLedger(db), new SqliteRefineState(db, clock), keys);
    }

    /// <summary>Opens (creating when missing) the index database and its tables.</summary>
    /// <param name="databasePath">Path of the SQLite file, e.g. <c>&lt;lake&gt;/lake-index.sqlite</c>; its folder is created.</param>
    /// <param name="keys">The keyed hash of customer join keys the index's customer keys were made with.</param>
    /// <param name="clock">The clock of pending marks (default: the system clock).</param>
    /// <exception cref="Microsoft.Data.Sqlite.SqliteException">The file cannot be opened or is not a SQLite database.</exception>
    /// <exception cref="InvalidDataException">The file holds a newer schema than this build knows.</exception>
    public static LocalIndex Open(string databasePath, ICustomerKeys keys, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return new LocalIndex(new SqliteLakeDatabase(databasePath), keys, clock ?? TimeProvider.System);
    }

    /// <summary>The ports; valid until this object is disposed (then every call throws <see cref="ObjectDisposedException"/>).</summary>
    public LakeIndex Index { get; }

    /// <summary>Absolute path of the database file.</summary>
    public string DatabasePath => _db.DatabasePath;

    /// <summary>The shared database (tests watch its connection and command cache).</summary>
    internal SqliteLakeDatabase Database => _db;

    /// <summary>Closes the connection once the call in progress, if any, has finished.</summary>
    public void Dispose() => _db.Dispose();
}
