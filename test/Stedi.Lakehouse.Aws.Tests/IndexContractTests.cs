using Stedi.Lakehouse.Contracts;

namespace Stedi.Lakehouse.Aws.Tests;

// Inside the namespace so that the Index types win over the old Ports types of the global usings.
using Stedi.Lakehouse.Index;

/// <summary>The customer-version contract against DynamoDB on moto, at issue 10's scale (5,000 versions of one customer).</summary>
public sealed class DynamoDbCustomerIndexContractTests(MotoLake moto) : CustomerIndexContract, IClassFixture<MotoLake>
{
    protected override int LargeCount => 5_000;

    protected override Task<ICustomerIndex> CreateAsync() => Task.FromResult<ICustomerIndex>(moto.Lake.Customers);
}

/// <summary>The partition-index contract against DynamoDB on moto (issue 10's 30,000 hours are in <see cref="IndexScaleTests"/>,
/// with every item measured; here the contract's own scale keeps the suite fast).</summary>
public sealed class DynamoDbPartitionIndexContractTests(MotoLake moto) : PartitionIndexContract, IClassFixture<MotoLake>
{
    protected override Task<IPartitionIndex> CreateAsync() => Task.FromResult<IPartitionIndex>(moto.Lake.Partitions);
}

/// <summary>The ledger contract against DynamoDB on moto.</summary>
public sealed class DynamoDbLedgerContractTests(MotoLake moto) : LedgerContract, IClassFixture<MotoLake>
{
    protected override Task<ILedger> CreateAsync() => Task.FromResult<ILedger>(moto.Lake.Ledger);
}

/// <summary>The refine-state contract against DynamoDB on moto.</summary>
public sealed class DynamoDbRefineStateContractTests(MotoLake moto) : RefineStateContract, IClassFixture<MotoLake>
{
    protected override Task<IRefineState> CreateAsync() => Task.FromResult<IRefineState>(moto.Lake.RefineState);
}
