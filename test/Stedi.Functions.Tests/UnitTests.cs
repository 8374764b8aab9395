using System.Text.Json;
using Amazon.SQS.Model;
using Stedi.Lakehouse.Aws;

namespace Stedi.Functions.Tests;

public sealed class FunctionEnvironmentTests
{
    [Fact]
    public void Missing_configuration_names_every_missing_variable_at_once()
    {
        var e = Assert.Throws<InvalidOperationException>(() => FunctionEnvironment.FromEnvironment(_ => null));
        foreach (var name in new[] { "STEDI_LAKE_BUCKET", "STEDI_INDEX_TABLE", "STEDI_REFRESH_QUEUE_URL", "STEDI_CUSTOMER_KEY_SECRET_ID" })
            Assert.Contains($"{name} is not set", e.Message, StringComparison.Ordinal);
        // The functions make no catalog call: the Glue database is not needed to run them.
        Assert.DoesNotContain("STEDI_GLUE_DATABASE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configuration_without_a_glue_database_builds_the_adapters_and_only_the_catalog_says_it_is_missing()
    {
        // The functions never touch the catalog: `stedi invoke --endpoint` with the served deployment's variables but no
        // STEDI_GLUE_DATABASE once failed in the constructor with "The value cannot be an empty string".
        using var lake = AwsLake.Create(new AwsLakeConfig("b", "t", "q", "", ServiceUrl: "http://127.0.0.1:1"), AwsLake.EmulatorCredentials);
        Assert.Equal("b", lake.Config.Bucket);
        var e = Assert.Throws<InvalidOperationException>(() => lake.Catalog);
        Assert.Equal("no Glue database: set AwsLakeConfig.GlueDatabase (STEDI_GLUE_DATABASE) to use the catalog", e.Message);
    }

    [Fact]
    public void Invalid_values_are_named_with_the_missing_ones()
    {
        var env = new Dictionary<string, string> { ["STEDI_LAKE_BUCKET"] = "b", ["STEDI_PROFILE"] = "lenient", ["STEDI_SOURCE"] = "gyroscope", ["STEDI_MAX_OBJECT_BYTES"] = "-1" };
        var e = Assert.Throws<InvalidOperationException>(() => FunctionEnvironment.FromEnvironment(k => env.GetValueOrDefault(k)));
        Assert.DoesNotContain("STEDI_LAKE_BUCKET", e.Message, StringComparison.Ordinal);
        Assert.Contains("STEDI_INDEX_TABLE is not set", e.Message, StringComparison.Ordinal);
        Assert.Contains("STEDI_PROFILE must be strict or rubric, not 'lenient'", e.Message, StringComparison.Ordinal);
        Assert.Contains("STEDI_SOURCE must be customer, accelerometer or step_trainer, not 'gyroscope'", e.Message, StringComparison.Ordinal);
        Assert.Contains("STEDI_MAX_OBJECT_BYTES must be a positive number of bytes, not '-1'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Complete_configuration_is_read()
    {
        var env = new Dictionary<string, string>
        {
            ["STEDI_LAKE_BUCKET"] = "lake", ["STEDI_INDEX_TABLE"] = "index", ["STEDI_REFRESH_QUEUE_URL"] = "http://q/refresh.fifo", ["STEDI_GLUE_DATABASE"] = "stedi",
            ["STEDI_CUSTOMER_KEY_SECRET_ID"] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stedi-key",
            ["STEDI_PROFILE"] = "rubric", ["STEDI_SOURCE"] = "step_trainer", ["STEDI_MAX_OBJECT_BYTES"] = "1000", ["AWS_REGION"] = "eu-west-1", ["STEDI_ENDPOINT_URL"] = "http://127.0.0.1:5000",
        };
        var f = FunctionEnvironment.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(new AwsLakeConfig("lake", "index", "http://q/refresh.fifo", "stedi", "eu-west-1", "http://127.0.0.1:5000",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stedi-key"), f.Lake);
        Assert.Equal(ConsentProfile.Rubric, f.Options.Profile);
        Assert.Equal(1000, f.Options.MaxObjectBytes);
        Assert.Equal("step_trainer", f.Source!.Name);
    }
}

public sealed class InvokeTests
{
    [Theory]
    [InlineData("s3-put-customer.json", "ingest")]
    [InlineData("s3-multipart-accelerometer.json", "ingest")]
    [InlineData("s3-test-event.json", "ingest")]
    [InlineData("sqs-s3-put-customer.json", "ingest")]
    [InlineData("sqs-s3-test-event.json", "ingest")]
    [InlineData("sqs-refresh-accelerometer-trusted.json", "refine")]
    public void The_function_follows_from_the_event(string file, string function) =>
        Assert.Equal(function, EventShape.InferFunction(Repo.Event(file)));
}

/// <summary>The emulated event source mapping against moto queues.</summary>
public sealed class EventSourceMappingPollerTests
{
    [Fact]
    public async Task Fifo_batch_becomes_the_Lambda_SQS_event_and_only_reported_failures_stay_on_the_queue()
    {
        var endpoint = await Moto.EndpointAsync();
        using var lake = AwsLake.Create(new AwsLakeConfig("b", "t", "q", "d", ServiceUrl: endpoint), AwsLake.EmulatorCredentials);
        var name = "poller-" + Guid.NewGuid().ToString("N")[..8];
        var url = (await lake.Sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = name + ".fifo", Attributes = new() { ["FifoQueue"] = "true", ["ContentBasedDeduplication"] = "false" },
        })).QueueUrl;
        var arn = $"arn:aws:sqs:us-east-1:123456789012:{name}.fifo";
        for (var i = 0; i < 3; i++)
            await lake.Sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = $"{{\"n\":{i}}}", MessageGroupId = $"g{i}", MessageDeduplicationId = $"d{i}" });
        string? seen = null;
        var poller = new EventSourceMappingPoller("test", lake.Sqs, url, arn, "us-east-1", (json, _) =>
        {
            seen = json;
            using var doc = JsonDocument.Parse(json);
            var second = doc.RootElement.GetProperty("Records")[1].GetProperty("messageId").GetString()!;
            var r = new BatchResponse();
            r.BatchItemFailures.Add(new BatchItemFailure { ItemIdentifier = second });
            return Task.FromResult(r);
        }, new EventSourceMappingOptions(BatchSize: 10, VisibilityTimeoutSeconds: 30, RetryDelaySeconds: 0));

        var result = await poller.PollOnceAsync();

        Assert.Equal((3, 2, 1), (result.Received, result.Deleted, result.Failed));
        using (var doc = JsonDocument.Parse(seen!))
        {
            var records = doc.RootElement.GetProperty("Records").EnumerateArray().ToList();
            Assert.Equal(3, records.Count);
            for (var i = 0; i < 3; i++)
            {
                var r = records[i];
                Assert.Equal("aws:sqs", r.GetProperty("eventSource").GetString());
                Assert.Equal(arn, r.GetProperty("eventSourceARN").GetString());
                Assert.Equal("us-east-1", r.GetProperty("awsRegion").GetString());
                Assert.Equal($"{{\"n\":{i}}}", r.GetProperty("body").GetString());
                Assert.False(string.IsNullOrEmpty(r.GetProperty("receiptHandle").GetString()));
                Assert.Equal("1", r.GetProperty("attributes").GetProperty("ApproximateReceiveCount").GetString());
                Assert.Equal($"g{i}", r.GetProperty("attributes").GetProperty("MessageGroupId").GetString());
            }
            Assert.True(Stedi.Functions.EventShape.IsSqs(doc.RootElement));
        }
        // Only the reported failure is back (retry delay 0), received for the second time.
        var again = await lake.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, MessageSystemAttributeNames = ["All"] });
        var m = Assert.Single(again.Messages);
        Assert.Equal("{\"n\":1}", m.Body);
        Assert.Equal("2", m.Attributes["ApproximateReceiveCount"]);
    }

    [Fact]
    public async Task A_throwing_handler_or_an_unknown_item_identifier_fails_the_whole_batch()
    {
        var endpoint = await Moto.EndpointAsync();
        using var lake = AwsLake.Create(new AwsLakeConfig("b", "t", "q", "d", ServiceUrl: endpoint), AwsLake.EmulatorCredentials);
        var url = (await lake.Sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = "poller-" + Guid.NewGuid().ToString("N")[..8] })).QueueUrl;
        await lake.Sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "a" });
        await lake.Sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "b" });
        var options = new EventSourceMappingOptions(BatchSize: 10, VisibilityTimeoutSeconds: 30, RetryDelaySeconds: 0);
        var throwing = new EventSourceMappingPoller("t", lake.Sqs, url, "arn:aws:sqs:us-east-1:123456789012:x", "us-east-1",
            (_, _) => throw new InvalidOperationException("boom"), options);
        var r1 = await throwing.PollOnceAsync();
        Assert.Equal((2, 0, 2), (r1.Received, r1.Deleted, r1.Failed));
        Assert.IsType<InvalidOperationException>(r1.Error);
        var unknown = new EventSourceMappingPoller("u", lake.Sqs, url, "arn:aws:sqs:us-east-1:123456789012:x", "us-east-1", (_, _) =>
        {
            var r = new BatchResponse();
            r.BatchItemFailures.Add(new BatchItemFailure { ItemIdentifier = "" });
            return Task.FromResult(r);
        }, options);
        var r2 = await unknown.PollOnceAsync();
        Assert.Equal((2, 0, 2), (r2.Received, r2.Deleted, r2.Failed));
    }
}
