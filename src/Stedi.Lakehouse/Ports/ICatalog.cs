using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Ports;

/// <summary>The table catalog (Glue Data Catalog in production, JSON table definitions locally).</summary>
public interface ICatalog
{
    /// <summary>Creates the table when missing, updates it when its columns differ from <paramref name="table"/>. Idempotent.</summary>
    Task EnsureTableAsync(TableSchema table, CancellationToken ct = default);

    /// <summary>Registers a partition of the table (whose folder is <see cref="TableSchema.PartitionPrefix"/>). Idempotent: an existing partition is success.</summary>
    Task AddPartitionAsync(TableSchema table, string partitionValue, CancellationToken ct = default);
}
