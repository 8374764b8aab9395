using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Index;

/// <summary>The index, by concern: customer versions, partition membership, the ingest ledger, refine state.</summary>
/// <param name="Customers">Customer versions.</param>
/// <param name="Partitions">Partition membership and trusted-reading counts.</param>
/// <param name="Ledger">The ingest ledger.</param>
/// <param name="Refine">Refine outcomes and pending marks.</param>
/// <param name="Keys">The keyed hash of customer join keys.</param>
public sealed record LakeIndex(ICustomerIndex Customers, IPartitionIndex Partitions, ILedger Ledger, IRefineState Refine, ICustomerKeys Keys);
