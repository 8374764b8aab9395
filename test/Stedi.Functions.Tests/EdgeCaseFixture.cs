using Stedi.Lakehouse.Ingest;
using System.Collections.Concurrent;
using Amazon.SQS.Model;
using Stedi.Functions;

namespace Stedi.Functions.Tests;

/// <summary>
/// A small deployment (maxReceiveCount 2, STEDI_MAX_OBJECT_BYTES 20,000, ingest batch size 10): first the sample
/// s3:TestEvent files are invoked directly; then, in one batch of the customer queue, a small object under a key with a
/// space and a plus, the whole customer file (too large for one invocation) and a body that is not an S3 notification.
/// </summary>
public sealed class EdgeCaseFixture : IAsyncLifetime
{
    public const string SpacedKey = "customer/landing/customer batch+1.json";
    public const string BigKey = "customer/landing/customer-big.json";
    public const string Garbage = "this is not an S3 event notification";
    public const int MaxReceives = 2;
    private string? _dir;

    public EmulatedDeployment Deployment { get; private set; } = null!;
    public BatchResponse RawTestEvent { get; private set; } = null!;
    public BatchResponse SqsTestEvent { get; private set; } = null!;
    public int ObjectsAfterTestEvents { get; private set; }
    public int LedgerAfterTestEvents { get; private set; }
    public int SmallFileLines { get; private set; }
    public ConcurrentQueue<(string Mapping, PollResult Result)> Polls { get; } = new();
    public IReadOnlyList<Message> CustomerDeadLetters { get; private set; } = [];
    public IReadOnlyList<Stedi.Lakehouse.Index.LedgerEntry> Ledger { get; private set; } = [];
    public Dictionary<string, IngestManifest> Manifests { get; } = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        var endpoint = await Moto.EndpointAsync();
        Deployment = await EmulatedDeployment.CreateAsync(endpoint,
            new EmulationSettings(EmulationSettings.NewName(), ConsentProfile.Strict, MaxReceives, MaxObjectBytes: 20_000, IngestBatchSize: 10));
        var customer = Deployment.IngestFunctions["customer"];
        RawTestEvent = await customer.HandleEventAsync(Repo.Event("s3-test-event.json"));
        SqsTestEvent = await customer.HandleEventAsync(Repo.Event("sqs-s3-test-event.json"));
        var store = Deployment.Lake.ObjectStore;
        ObjectsAfterTestEvents = (await store.ListAsync("staged/")).Count + (await store.ListAsync("trusted/")).Count + (await store.ListAsync("curated/")).Count;
        LedgerAfterTestEvents = (await Deployment.Lake.Index.Ledger.ListAsync()).Count;

        _dir = Path.Combine(Path.GetTempPath(), "stedi-edge-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        var customerFile = Directory.GetFiles(Path.Combine(Repo.Landing, "customer")).Single();
        var small = Path.Combine(_dir, "small.json");
        var lines = File.ReadLines(customerFile).Take(5).ToList();
        SmallFileLines = lines.Count;
        await File.WriteAllLinesAsync(small, lines);
        await Deployment.UploadAsync(SpacedKey, small);
        await Deployment.UploadAsync(BigKey, customerFile);
        await Deployment.Lake.Sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = Deployment.LandingQueues["customer"].Url, MessageBody = Garbage });
        foreach (var m in Deployment.Mappings) m.Invoked = (p, r) => Polls.Enqueue((p.Name, r));
        await Deployment.RunUntilQuietAsync();

        var dlq = await Deployment.Lake.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = Deployment.LandingQueues["customer"].DlqUrl, MaxNumberOfMessages = 10, VisibilityTimeout = 60, WaitTimeSeconds = 0,
        });
        CustomerDeadLetters = dlq.Messages ?? [];
        Ledger = await Deployment.Lake.Index.Ledger.ListAsync();
        foreach (var e in Ledger)
        {
            await using var body = await store.OpenReadAsync(e.ManifestKey);
            Manifests[e.LandingKey] = IngestManifest.FromJson(await new StreamReader(body).ReadToEndAsync());
        }
    }

    public Task DisposeAsync()
    {
        Deployment?.Dispose();
        if (_dir is not null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
