using System.Net;
using Amazon.S3.Model;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse;
using Xunit.Abstractions;

namespace Stedi.Functions.Tests;

/// <summary>
/// Issue 10's "absence is never read from an S3 error": S3 answers a GET or HEAD of a missing key with 403, not 404,
/// to a role that may not list the bucket (GetObject API reference, "Permissions":
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). The functions decide absence from the index
/// (a partition's last outcome, the ledger) and from LIST, so refines of partitions whose upstream does not exist and
/// the retraction of a deleted landing object must succeed without a single GET or HEAD of a key that does not exist.
/// The S3 calls are counted on the functions' real S3 client (its SDK pipeline), against moto.
/// </summary>
public sealed class NoMissingKeyReadTests(ITestOutputHelper output)
{
    private const long Consent = 1655564400000;           // 2022-06-18 15:00:00 UTC
    private const long NextHour = Consent + 3_600_000;

    private static string Customer(string email, string serial, long lastUpdate, long? research) =>
        $"{{\"email\":\"{email}\",\"serialNumber\":\"{serial}\",\"lastUpdateDate\":{lastUpdate}" +
        (research is { } r ? $",\"shareWithResearchAsOfDate\":{r}" : "") + "}";

    private static string RemovedEvent(string bucket, string key) =>
        $$$$"""{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"{{{{DateTime.UtcNow:O}}}}","eventName":"ObjectRemoved:DeleteMarkerCreated","s3":{"s3SchemaVersion":"1.0","configurationId":"accelerometer-landing","bucket":{"name":"{{{{bucket}}}}","arn":"arn:aws:s3:::{{{{bucket}}}}"},"object":{"key":"{{{{Uri.EscapeDataString(key)}}}}","sequencer":"0055AED6DCD90281E5"}}}]}""";

    [Fact]
    public async Task Refines_without_upstream_a_withdrawal_and_the_retraction_of_a_deleted_object_read_no_missing_key()
    {
        var dir = Path.Combine(Path.GetTempPath(), "stedi-403-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            using var deployment = await EmulatedDeployment.CreateAsync(await Moto.EndpointAsync(), new EmulationSettings(EmulationSettings.NewName(), ConsentProfile.Strict));
            async Task PutAsync(string key, params string[] lines)
            {
                var file = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".json");
                await File.WriteAllLinesAsync(file, lines);
                await deployment.UploadAsync(key, file);
            }

            // a consents, b never does; both name the Step Trainer S-1, so strict's step_trainer_trusted reads the hour's
            // accelerometer_trusted (the shared-serial rule). a's readings: hour H1 and hour H2; steps only in H1.
            await PutAsync("customer/landing/c.json", Customer("a@x.com", "S-1", Consent, Consent), Customer("b@x.com", "S-1", Consent, null));
            await PutAsync("accelerometer/landing/a1.json", $"{{\"user\":\"a@x.com\",\"timestamp\":{Consent + 401},\"x\":1,\"y\":2,\"z\":3}}");
            await PutAsync("accelerometer/landing/a2.json", $"{{\"user\":\"a@x.com\",\"timestamp\":{NextHour + 7},\"x\":1,\"y\":2,\"z\":3}}");
            await PutAsync("step_trainer/landing/s.json", $"{{\"sensorReadingTime\":{Consent + 401},\"serialNumber\":\"S-1\",\"distanceFromObject\":10}}");
            await deployment.RunUntilQuietAsync();

            var h1 = Partitioning.ReadingHour(Consent + 401);
            var h2 = Partitioning.ReadingHour(NextHour + 7);
            var bucketA = Partitioning.EmailBucket("a@x.com");
            var emptyBucket = Enumerable.Range(0, Partitioning.EmailBuckets).Select(i => i.ToString("00", System.Globalization.CultureInfo.InvariantCulture))
                .First(b => b != bucketA && b != Partitioning.EmailBucket("b@x.com"));
            var refine = deployment.Lake.Index.Refine;
            async Task<long?> RowsAsync(string table, string partition) => (await refine.GetOutcomeAsync(table, partition))?.RowsOut;
            Assert.Equal(1, await RowsAsync("accelerometer_trusted", h1));
            Assert.Equal(1, await RowsAsync("step_trainer_trusted", h1));   // attributed through a's same-millisecond reading
            Assert.Equal(1, await RowsAsync("customer_curated", bucketA));

            using var log = new AwsCallLog(deployment.Lake.S3);

            // (a) Partitions whose upstream partition never existed: a customer bucket without customers, and an hour
            // with accelerometer readings but no step data.
            await deployment.Refiner.RefineAsync(new RefreshWork("customer_trusted", emptyBucket));
            await deployment.Refiner.RefineAsync(new RefreshWork("customer_curated", emptyBucket));
            await deployment.Refiner.RefineAsync(new RefreshWork("machine_learning_curated", h2));
            await deployment.Refiner.RefineAsync(new RefreshWork("step_trainer_trusted", h2));
            Assert.Equal(0, await RowsAsync("customer_curated", emptyBucket));
            Assert.Equal(0, await RowsAsync("machine_learning_curated", h2));
            Assert.DoesNotContain(log.S3, c => c.Operation is "GET" or "HEAD");   // nothing to read: the index said so
            var absentUpstream = log.S3.Count;

            // (b) The retraction of a deleted landing object (S3 ObjectRemoved → the ingest function), and the
            // recomputes it starts: accelerometer_trusted of H2 empties, machine_learning_curated of H2 has no steps.
            await deployment.Lake.S3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = deployment.Lake.Config.Bucket, Key = "accelerometer/landing/a2.json" });
            // moto 5.2 sends no ObjectRemoved notification for a delete in a versioned bucket; send the one S3 sends
            // (event message structure: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
            if (!deployment.Deliveries.Any(d => d.Body.Contains("ObjectRemoved", StringComparison.Ordinal)))
                await deployment.Lake.Sqs.SendMessageAsync(deployment.LandingQueues["accelerometer"].Url, RemovedEvent(deployment.Lake.Config.Bucket, "accelerometer/landing/a2.json"));
            await deployment.RunUntilQuietAsync();
            Assert.Contains(deployment.IngestOutcomes, o => o.Key == "accelerometer/landing/a2.json" && o.Status == "retracted");
            Assert.Contains(log.S3, c => c.Operation == "LIST" && c.Key == "accelerometer/landing/a2.json");
            Assert.Equal(0, await RowsAsync("accelerometer_trusted", h2));
            var retraction = log.S3.Count - absentUpstream;

            // (c) A withdrawal empties accelerometer_trusted of H1; step_trainer_trusted of H1 still needs the hour's
            // trusted moments (the shared serial) and must learn from the index that there are none.
            await PutAsync("customer/landing/c.json", Customer("a@x.com", "S-1", Consent + 10, null), Customer("b@x.com", "S-1", Consent, null));
            await deployment.RunUntilQuietAsync();
            Assert.Equal(0, await RowsAsync("accelerometer_trusted", h1));
            Assert.Equal(0, await RowsAsync("step_trainer_trusted", h1));
            Assert.Equal(0, await RowsAsync("customer_trusted", bucketA));
            Assert.Equal(0, await RowsAsync("customer_curated", bucketA));
            Assert.Equal(0, await RowsAsync("machine_learning_curated", h1));
            Assert.Equal(0, await deployment.DeadLettersAsync());
            Assert.Equal(0, deployment.Mappings.Sum(m => m.Failed));

            var calls = log.S3;
            output.WriteLine($"absent upstream: {absentUpstream} calls; retraction: {retraction}; withdrawal: {calls.Count - absentUpstream - retraction}");
            foreach (var g in calls.GroupBy(c => (c.Operation, c.Status)).OrderBy(g => g.Key.Operation, StringComparer.Ordinal))
                output.WriteLine($"  {g.Key.Operation} {(int)g.Key.Status}: {g.Count()}");
            Assert.Empty(log.ReadsOfMissingKeys);
            Assert.Contains(calls, c => c.Operation == "GET");   // the reads that did happen were seen
            Assert.All(calls, c => Assert.True(c.Status is HttpStatusCode.OK or HttpStatusCode.NoContent or HttpStatusCode.PartialContent, $"{c.Operation} {c.Key}: {(int)c.Status}"));

            // The log does see a miss: a HEAD of a key that does not exist is recorded as a 404.
            log.Clear();
            Assert.Null(await deployment.Lake.ObjectStore.HeadAsync("trusted/no/such/key.parquet"));
            await Assert.ThrowsAsync<ObjectNotFoundException>(() => deployment.Lake.ObjectStore.OpenReadAsync("trusted/no/such/key.parquet"));
            Assert.Equal([("HEAD", HttpStatusCode.NotFound), ("GET", HttpStatusCode.NotFound)], log.ReadsOfMissingKeys.Select(c => (c.Operation, c.Status)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
