using Stedi.Lakehouse.Ingest;

namespace Stedi.Functions.Tests;

/// <summary>Test events, key encoding and poison messages through the emulated event source mapping.</summary>
public sealed class EdgeCaseTests(EdgeCaseFixture f) : IClassFixture<EdgeCaseFixture>
{
    [Fact]
    public void S3_test_event_raw_and_sqs_wrapped_is_acknowledged_and_writes_nothing()
    {
        Assert.Equal("test_event", Assert.Single(f.RawTestEvent.Outcomes).Status);
        Assert.Empty(f.RawTestEvent.BatchItemFailures);
        Assert.Equal("test_event", Assert.Single(f.SqsTestEvent.Outcomes).Status);
        Assert.Empty(f.SqsTestEvent.BatchItemFailures);
        Assert.Equal(0, f.ObjectsAfterTestEvents);
        Assert.Equal(0, f.LedgerAfterTestEvents);
        // moto, like S3, sent one s3:TestEvent per queue when the notification configuration was saved; each was deleted.
        Assert.Equal(3, f.Deployment.Deliveries.Count(d => d.Body.Contains("\"s3:TestEvent\"", StringComparison.Ordinal)));
        Assert.Equal(3, f.Deployment.IngestOutcomes.Count(o => o.Status == "test_event"));
    }

    [Fact]
    public void Key_with_a_space_and_a_plus_is_decoded_once_and_read()
    {
        // S3 form-encodes keys in notifications: the space becomes '+', the plus '%2B'.
        Assert.Contains(f.Deployment.Deliveries, d => d.Body.Contains("customer+batch%2B1.json", StringComparison.Ordinal));
        var outcome = Assert.Single(f.Deployment.IngestOutcomes, o => o.Key == EdgeCaseFixture.SpacedKey);
        Assert.Equal("ingested", outcome.Status);
        Assert.Single(f.Ledger, e => e.LandingKey == EdgeCaseFixture.SpacedKey);
        Assert.Equal(f.SmallFileLines, f.Manifests[EdgeCaseFixture.SpacedKey].RowsRead);
    }

    [Fact]
    public async Task A_poison_message_reaches_the_DLQ_after_max_receives_and_a_too_large_object_is_recorded_once()
    {
        // The body that is not a notification is retried until the DLQ; the object over STEDI_MAX_OBJECT_BYTES is
        // recorded (manifest status too_large, one quarantine record) and acknowledged: retrying cannot make it fit.
        var dead = Assert.Single(f.CustomerDeadLetters);
        Assert.Equal(EdgeCaseFixture.Garbage, dead.Body);
        var outcomes = f.Deployment.IngestOutcomes;
        Assert.Equal(1, outcomes.Count(o => o.Key == EdgeCaseFixture.BigKey && o.Status == "too_large"));
        Assert.Equal(EdgeCaseFixture.MaxReceives, outcomes.Count(o => o.Status == "failed" && o.Reason == "message body is not an S3 event notification"));
        Assert.Contains(f.Ledger, e => e.LandingKey == EdgeCaseFixture.BigKey);
        var big = f.Manifests[EdgeCaseFixture.BigKey];
        Assert.Equal("too_large", big.Status);
        Assert.Equal(0, big.RowsRead);
        Assert.Empty(big.StagedKeys);
        Assert.NotNull(big.QuarantineKey);
        // The neighbour shared a batch with the poison message and was ingested (and deleted) on the first receive.
        var first = f.Polls.Where(p => p.Mapping == "ingest customer").Select(p => p.Result)
            .First(r => r.Response!.Outcomes.Any(o => o.Key == EdgeCaseFixture.SpacedKey));
        Assert.True(first.Received >= 3);
        Assert.Equal(1, first.Failed);
        Assert.Single(outcomes, o => o.Key == EdgeCaseFixture.SpacedKey);
        Assert.Equal(0, await f.Deployment.DepthAsync());
    }
}
