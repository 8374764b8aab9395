using Amazon.SQS.Model;
using Stedi.Lakehouse.Contracts;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>The shared object store contract against S3 on moto.</summary>
public sealed class S3ObjectStoreContractTests(MotoLake moto) : ObjectStoreContract, IClassFixture<MotoLake>
{
    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(moto.Lake.ObjectStore);
}

/// <summary>The shared catalog contract against Glue on moto, read back with GetTable and GetPartitions.</summary>
public sealed class GlueCatalogContractTests(MotoLake moto) : CatalogContract, IClassFixture<MotoLake>
{
    protected override Task<ICatalog> CreateCatalogAsync() => Task.FromResult<ICatalog>(moto.Lake.Catalog);

    protected override async Task<CatalogSnapshot?> ReadBackAsync(ICatalog catalog, TableSchema table)
    {
        var glue = (GlueCatalog)catalog;
        var t = await glue.DescribeTableAsync(table.Name);
        if (t is null) return null;
        return new CatalogSnapshot(
            t.Columns.Select(c => (c.Name, c.Type)).ToList(),
            Assert.Single(t.PartitionKeys).Name,
            await glue.GetPartitionValuesAsync(table.Name));
    }
}

/// <summary>The shared work queue contract against an SQS FIFO queue on moto.</summary>
public sealed class SqsWorkQueueContractTests(MotoLake moto) : WorkQueueContract, IClassFixture<MotoLake>
{
    protected override Task<(IWorkQueue Queue, Func<Task<IReadOnlyList<RefreshWork>>> Delivered)> CreateQueueAsync() =>
        Task.FromResult<(IWorkQueue, Func<Task<IReadOnlyList<RefreshWork>>>)>((moto.Lake.WorkQueue, async () =>
            (await SqsDrain.ReceiveAllAsync(moto.Lake)).Select(m => SqsWorkQueue.ParseBody(m.Body)).ToList()));
}

/// <summary>Receives (and deletes) every message of the refresh queue, the way a consumer would.</summary>
internal static class SqsDrain
{
    public static async Task<List<Message>> ReceiveAllAsync(AwsLake lake)
    {
        var all = new List<Message>();
        for (var empty = 0; empty < 2;)
        {
            var r = await lake.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = lake.Config.RefreshQueueUrl,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 0,
                MessageSystemAttributeNames = ["All"],
            });
            var messages = r.Messages ?? [];
            if (messages.Count == 0) { empty++; continue; }
            all.AddRange(messages);
            await lake.Sqs.DeleteMessageBatchAsync(lake.Config.RefreshQueueUrl,
                messages.Select((m, i) => new DeleteMessageBatchRequestEntry(i.ToString(System.Globalization.CultureInfo.InvariantCulture), m.ReceiptHandle)).ToList());
        }
        return all;
    }
}
