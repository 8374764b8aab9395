using System.Globalization;
using Amazon.S3.Model;
using Amazon.SQS.Model;
using Stedi.Deployment;

namespace Stedi.Functions.Tests;

/// <summary>The emulated deployment's queues, notifications and mappings carry the stack's figures (Topology), read
/// back from moto rather than from the code that set them.</summary>
public sealed class EmulatedTopologyTests
{
    [Fact]
    public async Task Queues_notifications_and_mappings_have_the_stacks_figures()
    {
        using var d = await EmulatedDeployment.CreateAsync(await Moto.EndpointAsync(), new EmulationSettings(EmulationSettings.NewName(), ConsentProfile.Strict));
        async Task<Dictionary<string, string>> AttributesAsync(string url) =>
            (await d.Lake.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["All"] })).Attributes;
        static string Days(int days) => (days * 86_400).ToString(CultureInfo.InvariantCulture);

        foreach (var (source, q) in d.LandingQueues)
        {
            var a = await AttributesAsync(q.Url);
            Assert.Equal(Topology.LandingVisibilityTimeoutSeconds.ToString(CultureInfo.InvariantCulture), a["VisibilityTimeout"]);
            Assert.Equal(Days(Topology.QueueRetentionDays), a["MessageRetentionPeriod"]);
            Assert.Contains($"\"maxReceiveCount\":{Topology.MaxReceiveCount}", a["RedrivePolicy"].Replace(" ", "", StringComparison.Ordinal));
            Assert.Equal(Days(Topology.DeadLetterRetentionDays), (await AttributesAsync(q.DlqUrl))["MessageRetentionPeriod"]);
        }
        var refresh = await AttributesAsync(d.RefreshQueue.Url);
        Assert.Equal(Topology.RefreshVisibilityTimeoutSeconds.ToString(CultureInfo.InvariantCulture), refresh["VisibilityTimeout"]);
        Assert.Equal(("true", "false"), (refresh["FifoQueue"], refresh["ContentBasedDeduplication"]));
        Assert.Equal(Topology.RefreshDeduplicationScope, refresh["DeduplicationScope"]);
        Assert.Equal(Topology.RefreshFifoThroughputLimit, refresh["FifoThroughputLimit"]);
        Assert.Equal("0", refresh["DelaySeconds"]); // the stack's is Topology.RefreshDeliveryDelaySeconds; the emulation drains at once
        Assert.Equal(Days(Topology.QueueRetentionDays), refresh["MessageRetentionPeriod"]);

        var notifications = await d.Lake.S3.GetBucketNotificationAsync(new GetBucketNotificationRequest { BucketName = d.Lake.Config.Bucket });
        foreach (var source in Topology.Sources)
        {
            var c = Assert.Single(notifications.QueueConfigurations, c => c.Queue == d.LandingQueues[source].Arn);
            Assert.Equal(Topology.LandingEvents.Order(), c.Events.Select(e => e.Value).Order());
            Assert.Equal(Topology.LandingPrefix(source), Assert.Single(c.Filter.S3KeyFilter.FilterRules).Value);
        }

        Assert.All(d.Mappings.Where(m => m.QueueUrl != d.RefreshQueue.Url), m => Assert.Equal(Topology.IngestBatchSize, m.Options.BatchSize));
        Assert.All(d.Mappings.Where(m => m.QueueUrl == d.RefreshQueue.Url), m => Assert.Equal(Topology.RefineBatchSize, m.Options.BatchSize));
    }
}
