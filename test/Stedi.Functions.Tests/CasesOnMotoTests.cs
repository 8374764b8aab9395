using Amazon.SQS.Model;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Logging;

namespace Stedi.Functions.Tests;

/// <summary>
/// The shared/cases that are about events and keys, through the ingest Lambda handler over the AWS adapters on moto:
/// the case's objects are put into emulated S3, its event.json (and later deliveries) handed to the handler, and the
/// refresh work drained through the emulated FIFO mapping.
/// </summary>
public sealed class CasesOnMotoTests
{
    private static string CaseDir(string name)
    {
        var inRepo = Path.Combine(Repo.Root, "test", "Stedi.Cases.Tests", "cases", name);
        return Directory.Exists(inRepo) ? inRepo : Path.Combine(Repo.Root, "..", "shared", "cases", name);
    }

    private sealed record CaseRun(EmulatedDeployment Deployment, IngestFunction Handler) : IDisposable
    {
        public void Dispose() => Deployment.Dispose();
    }

    private static async Task<CaseRun> StartAsync(string name)
    {
        var deployment = await EmulatedDeployment.CreateAsync(await Moto.EndpointAsync(), new EmulationSettings(EmulationSettings.NewName(), ConsentProfile.Strict));
        var landing = Path.Combine(CaseDir(name), "landing");
        if (Directory.Exists(landing))
            foreach (var file in Directory.EnumerateFiles(landing, "*", SearchOption.AllDirectories))
                await deployment.UploadAsync(Path.GetRelativePath(landing, file).Replace('\\', '/'), file);
        // The uploads' own notifications are not this test's subject: the case's event files are.
        foreach (var q in deployment.LandingQueues.Values)
            await deployment.Lake.Sqs.PurgeQueueAsync(new PurgeQueueRequest { QueueUrl = q.Url });
        var lake = deployment.Lake;
        var ingestor = new Ingestor(lake.ObjectStore, lake.Index, lake.WorkQueue, new LakeOptions { Profile = ConsentProfile.Strict });
        return new CaseRun(deployment, new IngestFunction(ingestor, NullLakeLog.Instance));
    }

    private static async Task<BatchResponse> DeliverAsync(CaseRun run, string name, string eventFile = "event.json")
    {
        var response = await run.Handler.HandleEventAsync(await File.ReadAllTextAsync(Path.Combine(CaseDir(name), eventFile)));
        await run.Deployment.RunUntilQuietAsync();
        return response;
    }

    [Fact]
    public async Task Duplicate_event_delivery_is_detected_by_idempotency_key_on_moto()
    {
        using var run = await StartAsync("duplicate-event-delivery");
        var first = await DeliverAsync(run, "duplicate-event-delivery");
        var again = await DeliverAsync(run, "duplicate-event-delivery", "event-redelivery.json");

        Assert.All(first.Outcomes, o => Assert.Equal("ingested", o.Status));
        Assert.All(again.Outcomes, o => Assert.Equal("already_processed", o.Status));
        var tables = await PublishedData.ReadAsync(run.Deployment.Lake.ObjectStore, ConsentProfile.Strict);
        Assert.Equal(3, tables.Rows["accelerometer_trusted"].Count);
    }

    [Fact]
    public async Task Key_with_plus_and_space_is_decoded_once_on_moto()
    {
        using var run = await StartAsync("key-plus-space");
        var response = await DeliverAsync(run, "key-plus-space");

        var outcome = Assert.Single(response.Outcomes);
        Assert.Equal(("customer/landing/customer batch 1.json", "ingested"), (outcome.Key, outcome.Status));
        var tables = await PublishedData.ReadAsync(run.Deployment.Lake.ObjectStore, ConsentProfile.Strict);
        var customer = Assert.Single(tables.Rows["customer_trusted"]);
        Assert.Equal("alice@example.com", customer[Tables.CustomerTrusted.Ordinal(Fields.Email)]);
    }

    [Fact]
    public async Task Every_record_of_a_multi_record_event_is_handled_and_a_missing_object_is_reported_alone_on_moto()
    {
        using var run = await StartAsync("multi-record-event");
        var response = await DeliverAsync(run, "multi-record-event");

        Assert.Equal(["ingested", "ingested", "ingested", "not_found"], response.Outcomes.Select(o => o.Status));
        Assert.Equal("accelerometer/landing/deleted-before-read.json", response.Outcomes[3].Key);
        Assert.Equal(3, (await run.Deployment.Lake.Index.Ledger.ListAsync()).Count);
    }

    [Fact]
    public async Task Keys_outside_the_landing_prefixes_are_ignored_before_any_read_on_moto()
    {
        using var run = await StartAsync("output-prefix-self-trigger");
        var before = (await run.Deployment.Lake.ObjectStore.ListAsync("")).Select(o => o.Key).ToList();
        var response = await DeliverAsync(run, "output-prefix-self-trigger");

        Assert.Equal(2, response.Outcomes.Count);
        Assert.All(response.Outcomes, o => Assert.Equal("ignored", o.Status));
        Assert.Equal(before, (await run.Deployment.Lake.ObjectStore.ListAsync("")).Select(o => o.Key).ToList());
    }

    [Fact]
    public async Task The_s3_test_event_raw_and_wrapped_is_acknowledged_and_writes_nothing_on_moto()
    {
        using var run = await StartAsync("s3-test-event");
        var raw = await DeliverAsync(run, "s3-test-event");
        var wrapped = await DeliverAsync(run, "s3-test-event", "event-sqs.json");

        Assert.Equal("test_event", Assert.Single(raw.Outcomes).Status);
        Assert.Equal("test_event", Assert.Single(wrapped.Outcomes).Status);
        Assert.Empty(wrapped.BatchItemFailures);
        Assert.Empty(await run.Deployment.Lake.ObjectStore.ListAsync(""));
        Assert.Empty(await run.Deployment.Lake.Index.Ledger.ListAsync());
    }
}
