using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.S3.Model;
using Amazon.SQS.Model;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>
/// A class fixture: an <see cref="AwsLake"/> on moto with a bucket, an index table, a FIFO refresh queue (no
/// content-based deduplication) and a Glue database whose names are unique to the test class.
/// </summary>
public sealed class MotoLake : IAsyncLifetime
{
    private AwsLake? _lake;

    /// <summary>The adapters (valid after InitializeAsync).</summary>
    public AwsLake Lake => _lake ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>moto's URL.</summary>
    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Endpoint = await MotoProcess.SharedEndpointAsync();
        var id = Guid.NewGuid().ToString("N")[..10];
        using (var bootstrap = AwsLake.Create(new AwsLakeConfig("b", "t", "q", "d", ServiceUrl: Endpoint), AwsLake.EmulatorCredentials))
        {
            var queue = await bootstrap.Sqs.CreateQueueAsync(new CreateQueueRequest
            {
                QueueName = $"stedi-refresh-{id}.fifo",
                Attributes = new() { ["FifoQueue"] = "true", ["ContentBasedDeduplication"] = "false", ["VisibilityTimeout"] = "30" },
            });
            _lake = AwsLake.Create(new AwsLakeConfig($"stedi-test-{id}", $"stedi-index-{id}", queue.QueueUrl, $"stedi_{id}", ServiceUrl: Endpoint),
                AwsLake.EmulatorCredentials);
        }
        await Lake.S3.PutBucketAsync(new PutBucketRequest { BucketName = Lake.Config.Bucket });
        await Lake.DynamoDb.CreateTableAsync(new Amazon.DynamoDBv2.Model.CreateTableRequest
        {
            TableName = Lake.Config.IndexTable,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.S)],
            KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
        });
    }

    public Task DisposeAsync()
    {
        _lake?.Dispose();
        return Task.CompletedTask;
    }
}
