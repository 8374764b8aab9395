using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SQS.Model;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Reading;

namespace Stedi.Functions.Tests;

/// <summary>
/// Issue 11: a lake bucket knows its profile. The first function to write records its STEDI_PROFILE in lake.json at the
/// bucket root (a conditional create); a function deployed with the other profile refuses to process — a clear error in
/// its log, the message to the DLQ through the redrive policy, nothing written.
/// </summary>
public sealed class BucketProfileTests
{
    private const int MaxReceives = 2;

    [Fact]
    public async Task The_first_writer_records_the_profile_and_a_function_with_the_other_profile_writes_nothing_and_dead_letters_on_moto()
    {
        var endpoint = await Moto.EndpointAsync();
        var name = EmulationSettings.NewName();
        using var deployment = await EmulatedDeployment.CreateAsync(endpoint, new EmulationSettings(name, ConsentProfile.Strict, MaxReceives));
        using var tmp = new TempFiles();
        var customers = File.ReadLines(Directory.GetFiles(Path.Combine(Repo.Landing, "customer")).Single()).ToList();
        var first = tmp.Write("first.json", customers.Take(20));
        Assert.Null(await LakeBucketProfile.ReadAsync(deployment.Lake.S3, name)); // the stack does not write it; the functions do

        await deployment.UploadAsync("customer/landing/first.json", first);
        using (var calls = new AwsCallLog(deployment.Lake.S3))
        {
            await deployment.RunUntilQuietAsync();
            // Absence is decided by LIST, never by a GET error (issue 10): the first writer listed lake.json, found nothing, created it.
            Assert.Empty(calls.ReadsOfMissingKeys);
            Assert.Contains(calls.S3, c => c.Operation == "LIST" && c.Key == "lake.json");
            Assert.Contains(calls.S3, c => c.Operation == "PUT" && c.Key == "lake.json");
        }
        var recorded = await LakeBucketProfile.ReadAsync(deployment.Lake.S3, name);
        Assert.NotNull(recorded);
        Assert.Equal(("strict", 1, $"{name}-ingest-customer"), (recorded.Profile, recorded.SchemaVersion, recorded.CreatedBy));
        Assert.Equal(["customer_trusted"], (await deployment.ReadPublishedAsync()).Rows.Where(t => t.Value.Count > 0).Select(t => t.Key));

        // The same resources, functions deployed with STEDI_PROFILE=rubric.
        var env = FunctionEnvironment.FromEnvironment(k => k == "STEDI_PROFILE" ? "rubric" : deployment.Environment.GetValueOrDefault(k));
        using var rubricLake = await AwsLake.CreateAsync(env.Lake, AwsLake.EmulatorCredentials);
        var logText = new StringWriter();
        var log = new JsonLinesLakeLog(TextWriter.Synchronized(logText));
        var ingest = new IngestFunction(new Ingestor(rubricLake.ObjectStore, rubricLake.Index, rubricLake.WorkQueue, env.Options, log), log,
            LandingSource.All.Single(s => s.Name == "customer"), env.ProfileCheck(rubricLake.S3, "rubric-ingest"));
        var refine = new RefineFunction(new Refiner(rubricLake.ObjectStore, rubricLake.Index, rubricLake.WorkQueue, env.Options, log), log,
            env.ProfileCheck(rubricLake.S3, "rubric-refine"));

        var keysBefore = await KeysAsync(deployment);
        var ledgerBefore = (await deployment.Lake.Index.Ledger.ListAsync()).Select(e => (e.LandingKey, e.IdempotencyKey)).ToList();
        var outcomesBefore = (await deployment.Lake.Index.Refine.ListOutcomesAsync()).Select(o => (o.Table, o.Partition, o.OutputHash)).Order().ToList();

        var second = tmp.Write("second.json", customers.Skip(20).Take(20));
        await deployment.UploadAsync("customer/landing/second.json", second);
        var queue = deployment.LandingQueues["customer"];
        var poller = new EventSourceMappingPoller("rubric ingest customer", deployment.Lake.Sqs, queue.Url, queue.Arn, "us-east-1", ingest.HandleEventAsync,
            new EventSourceMappingOptions(BatchSize: 1, VisibilityTimeoutSeconds: 60, RetryDelaySeconds: 0, WaitTimeSeconds: 1));
        var results = new List<PollResult>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await deployment.CountAsync(queue.DlqUrl) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the message did not reach the DLQ in 60 s: queue {await deployment.CountAsync(queue.Url)}, {results.Count} receive(s): " +
                string.Join("; ", results.Select(r => $"{r.Received}/{r.Deleted}/{r.Failed} {r.Error?.Message} {string.Join(",", r.Response?.Outcomes.Select(o => o.Key + " " + o.Status + " " + o.Reason) ?? [])}")));
            var r = await poller.PollOnceAsync();
            if (r.Received > 0) results.Add(r);
        }

        // Received maxReceiveCount times, failed every time, then moved to the DLQ by the redrive policy.
        Assert.Equal(MaxReceives, results.Count);
        var expectedMessage = $"lake bucket {name} was built with profile strict (s3://{name}/lake.json, recorded by {name}-ingest-customer); " +
                              "this function has STEDI_PROFILE=rubric, which would mix the two profiles' rules in its tables, so it writes nothing. " +
                              $"Deploy it with STEDI_PROFILE=strict, or point it at a lake bucket built with rubric";
        Assert.All(results, r =>
        {
            Assert.Equal((1, 0, 1), (r.Received, r.Deleted, r.Failed));
            var outcome = Assert.Single(r.Response!.Outcomes);
            Assert.Equal(("customer/landing/second.json", "failed", expectedMessage), (outcome.Key, outcome.Status, outcome.Reason));
        });
        var dead = await deployment.Lake.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queue.DlqUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 0 });
        Assert.Contains("\"key\": \"customer%2Flanding%2Fsecond.json\"", Assert.Single(dead.Messages).Body); // moto encodes the slashes too
        await deployment.Lake.Sqs.DeleteMessageAsync(queue.DlqUrl, dead.Messages[0].ReceiptHandle);

        // A refresh message for the refine function with the other profile: failed, nothing recomputed.
        var refresh = await refine.HandleEventAsync(Repo.Event("sqs-refresh-accelerometer-trusted.json"));
        Assert.Equal(["059f36b4-87a3-44ab-83d2-661975830a7d"], refresh.BatchItemFailures.Select(f => f.ItemIdentifier));
        Assert.Equal(expectedMessage, Assert.Single(refresh.Outcomes).Reason);

        // The log says what is wrong, once per refusal.
        var errors = logText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("level").GetString() == "error").ToList();
        Assert.Equal(MaxReceives + 1, errors.Count);
        Assert.All(errors, e =>
        {
            Assert.Equal("lake_profile_mismatch", e.GetProperty("event").GetString());
            Assert.Equal(expectedMessage, e.GetProperty("message").GetString());
        });

        // Nothing written: the bucket holds what it held plus the uploaded landing object; index and lake.json unchanged.
        Assert.Equal(keysBefore.Append("customer/landing/second.json").Order(StringComparer.Ordinal), await KeysAsync(deployment));
        Assert.Equal(ledgerBefore, (await deployment.Lake.Index.Ledger.ListAsync()).Select(e => (e.LandingKey, e.IdempotencyKey)).ToList());
        Assert.Equal(outcomesBefore, (await deployment.Lake.Index.Refine.ListOutcomesAsync()).Select(o => (o.Table, o.Partition, o.OutputHash)).Order().ToList());
        Assert.Equal(recorded, await LakeBucketProfile.ReadAsync(deployment.Lake.S3, name));

        // The strict deployment goes on: it ingests the object the rubric function refused, once redelivered.
        await deployment.Lake.S3.PutObjectAsync(new PutObjectRequest { BucketName = name, Key = "customer/landing/second.json", FilePath = second });
        await deployment.RunUntilQuietAsync();
        Assert.Equal(2, (await deployment.Lake.Index.Ledger.ListAsync()).Count);
        Assert.Equal(0, await deployment.DeadLettersAsync());
    }

    [Fact]
    public async Task Of_two_first_writers_with_different_profiles_exactly_one_records_its_profile_on_moto()
    {
        var endpoint = await Moto.EndpointAsync();
        using var s3 = new AmazonS3Client(AwsLake.EmulatorCredentials, new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        for (var round = 0; round < 4; round++)
        {
            var bucket = EmulationSettings.NewName();
            await s3.PutBucketAsync(bucket);
            var checks = new[] { new LakeBucketProfile(s3, bucket, ConsentProfile.Strict, "a"), new LakeBucketProfile(s3, bucket, ConsentProfile.Rubric, "b") };
            var outcomes = await Task.WhenAll(checks.Select(async c =>
            {
                try { return (Won: true, Metadata: await c.EnsureAsync(), Error: (BucketProfileMismatchException?)null); }
                catch (BucketProfileMismatchException e) { return (Won: false, Metadata: (BucketLakeMetadata?)null, Error: e); }
            }));
            var winner = Assert.Single(outcomes, o => o.Won);
            var loser = Assert.Single(outcomes, o => !o.Won);
            Assert.Equal(winner.Metadata, await LakeBucketProfile.ReadAsync(s3, bucket));
            Assert.Equal((winner.Metadata!.ConsentProfile, checks.Single(c => c.Profile != winner.Metadata.ConsentProfile).Profile), (loser.Error!.Recorded, loser.Error.Requested));
            // Checked once, remembered: the winner's check answers without S3, the loser's keeps refusing.
            Assert.Equal(winner.Metadata, await checks.Single(c => c.Profile == winner.Metadata.ConsentProfile).EnsureAsync());
            await Assert.ThrowsAsync<BucketProfileMismatchException>(() => checks.Single(c => c.Profile != winner.Metadata.ConsentProfile).EnsureAsync());
        }
    }

    [Fact]
    public async Task Moto_honours_the_conditional_create_the_profile_record_relies_on()
    {
        var endpoint = await Moto.EndpointAsync();
        using var s3 = new AmazonS3Client(AwsLake.EmulatorCredentials, new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var bucket = EmulationSettings.NewName();
        await s3.PutBucketAsync(bucket);
        Task Put(string body) => s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "lake.json", IfNoneMatch = "*", ContentBody = body });
        await Put("first");
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => Put("second"));
        Assert.Equal(HttpStatusCode.PreconditionFailed, e.StatusCode);
        using var r = await s3.GetObjectAsync(bucket, "lake.json");
        Assert.Equal("first", await new StreamReader(r.ResponseStream, Encoding.UTF8).ReadToEndAsync());
    }

    [Fact]
    public void The_record_is_where_the_stack_lets_every_function_read_and_create_it()
    {
        Assert.Equal(Stedi.Deployment.Topology.LakeProfileKey, LakeBucketProfile.Key);
        var metadata = new BucketLakeMetadata("rubric", 1, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), "f");
        var json = Encoding.UTF8.GetString(LakeBucketProfile.ToJson(metadata));
        Assert.Equal("{\n  \"profile\": \"rubric\",\n  \"schema_version\": 1,\n  \"created_at\": \"2026-01-02T03:04:05.0000000Z\",\n  \"created_by\": \"f\"\n}", json);
        Assert.Equal(metadata, LakeBucketProfile.Parse(Encoding.UTF8.GetBytes(json), "x"));
        Assert.Equal("x is not valid lake metadata (it needs \"profile\" and \"schema_version\")",
            Assert.Throws<InvalidDataException>(() => LakeBucketProfile.Parse("{}"u8.ToArray(), "x")).Message);
        Assert.Equal("lake.json names an unknown profile 'lenient' (expected strict or rubric)",
            Assert.Throws<InvalidDataException>(() => LakeBucketProfile.Parse("""{"profile":"lenient","schema_version":1}"""u8.ToArray(), "x")).Message);
    }

    private static async Task<List<string>> KeysAsync(EmulatedDeployment d) =>
        (await d.Lake.ObjectStore.ListAsync("")).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();

    private sealed class TempFiles : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("stedi-profile-").FullName;
        public string Write(string name, IEnumerable<string> lines)
        {
            var path = Path.Combine(_dir, name);
            File.WriteAllLines(path, lines);
            return path;
        }
        public void Dispose() => Directory.Delete(_dir, recursive: true);
    }
}
