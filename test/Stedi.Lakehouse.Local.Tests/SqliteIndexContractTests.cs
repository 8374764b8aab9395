namespace Stedi.Lakehouse.Local.Tests;

using Stedi.Lakehouse.Index;

/// <summary>A fresh index database per test, and the customer-key hash of a fixed secret.</summary>
public sealed class SqliteIndexFixture : IDisposable
{
    private readonly TempFolder _root = new();

    public SqliteIndexFixture() =>
        Local = LocalIndex.Open(Path.Combine(_root.Path, "lake", LocalLake.IndexFileName), HmacCustomerKeys.FromText("contract-test-secret"));

    public LocalIndex Local { get; }

    public LakeIndex Index => Local.Index;

    public void Dispose()
    {
        Local.Dispose();
        _root.Dispose();
    }
}

public sealed class SqliteCustomerIndexContractTests : CustomerIndexContract, IDisposable
{
    private readonly SqliteIndexFixture _db = new();

    // Issue 10: 5,000 versions of one customer.
    protected override int LargeCount => 5_000;

    protected override Task<ICustomerIndex> CreateAsync() => Task.FromResult(_db.Index.Customers);

    public void Dispose() => _db.Dispose();
}

public sealed class SqlitePartitionIndexContractTests : PartitionIndexContract, IDisposable
{
    private readonly SqliteIndexFixture _db = new();

    // Issue 10: 30,000 hours of one user.
    protected override int LargeCount => 30_000;

    protected override Task<IPartitionIndex> CreateAsync() => Task.FromResult(_db.Index.Partitions);

    public void Dispose() => _db.Dispose();
}

public sealed class SqliteLedgerContractTests : LedgerContract, IDisposable
{
    private readonly SqliteIndexFixture _db = new();

    protected override int LargeCount => 5_000;

    protected override Task<ILedger> CreateAsync() => Task.FromResult(_db.Index.Ledger);

    public void Dispose() => _db.Dispose();
}

public sealed class SqliteRefineStateContractTests : RefineStateContract, IDisposable
{
    private readonly SqliteIndexFixture _db = new();

    protected override int LargeCount => 5_000;

    protected override Task<IRefineState> CreateAsync() => Task.FromResult(_db.Index.Refine);

    public void Dispose() => _db.Dispose();
}
