using System.Collections.Concurrent;
using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Stedi.Deployment;
using Stedi.Functions;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Twin.Emulation;

/// <summary>Shape of an emulated deployment.</summary>
/// <param name="Name">Prefix of every resource name (bucket, queues, table; the Glue database uses it with
/// <c>_</c> for <c>-</c>). Unique per deployment so that many share one moto.</param>
/// <param name="Profile">Semantic profile of the functions (<c>STEDI_PROFILE</c>).</param>
/// <param name="MaxReceives">Redrive policy <c>maxReceiveCount</c> of every queue (default: the stack's, <see cref="Topology.MaxReceiveCount"/>).</param>
/// <param name="MaxObjectBytes">The functions' <c>STEDI_MAX_OBJECT_BYTES</c> (default: the stack's, <see cref="Topology.MaxObjectBytes"/>), or null for no limit.</param>
/// <param name="IngestBatchSize">Batch size of the landing queue mappings (default: the stack's, <see cref="Topology.IngestBatchSize"/>).</param>
/// <param name="RefineBatchSize">Batch size of the refresh queue mapping (default: the stack's, <see cref="Topology.RefineBatchSize"/>).</param>
/// <param name="RefineConcurrency">Concurrent pollers of the refresh queue (FIFO keeps one partition at a time).</param>
/// <param name="RetryDelaySeconds">How soon a failed message is received again (see <see cref="EventSourceMappingOptions"/>).</param>
/// <param name="Region">Region.</param>
/// <param name="RefreshDeliveryDelaySeconds">The refresh queue's <c>DelaySeconds</c>. The stack's is
/// <see cref="Topology.RefreshDeliveryDelaySeconds"/>; the emulation's default is none, so that a run drains in seconds
/// (coalescing then rests on the pending marks alone).</param>
public sealed record EmulationSettings(
    string Name, ConsentProfile Profile = ConsentProfile.Strict, int MaxReceives = Topology.MaxReceiveCount, long? MaxObjectBytes = Topology.MaxObjectBytes,
    int IngestBatchSize = Topology.IngestBatchSize, int RefineBatchSize = Topology.RefineBatchSize, int RefineConcurrency = 2, int RetryDelaySeconds = 1, string Region = "us-east-1",
    int RefreshDeliveryDelaySeconds = 0)
{
    /// <summary>A fresh resource-name prefix, <c>stedi-emu-&lt;8 hex&gt;</c>.</summary>
    public static string NewName() => "stedi-emu-" + Guid.NewGuid().ToString("N")[..8];
}

/// <summary>A queue with its dead-letter queue.</summary>
/// <param name="Url">Queue URL.</param>
/// <param name="Arn">Queue ARN.</param>
/// <param name="DlqUrl">Dead-letter queue URL.</param>
public sealed record QueuePair(string Url, string Arn, string DlqUrl);

/// <summary>One landing message a mapping delivered, as its body (an S3 event notification, normally).</summary>
/// <param name="Source">Landing source of the queue, or <see cref="EmulatedDeployment.RefreshSource"/>.</param>
/// <param name="Body">Message body.</param>
public sealed record Delivery(string Source, string Body);

/// <summary>
/// What the CDK stack creates, on an S3/SQS/DynamoDB/Glue endpoint (moto), with the stack's figures from
/// <see cref="Topology"/> and its tables from <see cref="GlueTables"/> (never copies): the versioned lake bucket with
/// S3→SQS notifications per landing prefix (<see cref="Topology.LandingEvents"/>), a standard queue per landing source
/// with a DLQ (redrive after <see cref="EmulationSettings.MaxReceives"/>, the stack's retention and visibility), the
/// high-throughput FIFO refresh queue (no content-based deduplication) with a FIFO DLQ, the DynamoDB index table
/// (<c>pk</c>/<c>sk</c>, on demand), the customer-key secret, the Glue database and the tables with partition projection. The functions run in-process behind <see cref="EventSourceMappingPoller"/>s, configured from the same
/// environment variables the stack sets (<see cref="FunctionEnvironment"/>).
/// </summary>
public sealed class EmulatedDeployment : IDisposable
{
    private readonly ConcurrentQueue<Delivery> _deliveries = new();
    private readonly ConcurrentQueue<RecordOutcome> _ingestOutcomes = new();

    private EmulatedDeployment(EmulationSettings settings, string endpoint, IReadOnlyDictionary<string, string> environment,
        FunctionEnvironment function, AwsLake lake, IReadOnlyDictionary<string, QueuePair> landing, QueuePair refresh, ILakeLog log)
    {
        (Settings, Endpoint, Environment, Function, Lake, LandingQueues, RefreshQueue, Log) = (settings, endpoint, environment, function, lake, landing, refresh, log);
        Refiner = new Refiner(lake.ObjectStore, lake.Index, lake.WorkQueue, function.Options, log);
        // Each function checks the lake bucket's profile before it writes, as the deployed ones do (lake.json at the bucket root).
        RefineFunction = new RefineFunction(Refiner, log, function.ProfileCheck(lake.S3, $"{settings.Name}-refine"));
        IngestFunctions = LandingSource.All.ToDictionary(s => s.Name,
            s => new IngestFunction(new Ingestor(lake.ObjectStore, lake.Index, lake.WorkQueue, function.Options, log), log, s,
                function.ProfileCheck(lake.S3, $"{settings.Name}-ingest-{s.Name}")), StringComparer.Ordinal);
        var mappings = new List<EventSourceMappingPoller>();
        foreach (var s in LandingSource.All)
        {
            var q = landing[s.Name];
            var fn = IngestFunctions[s.Name];
            mappings.Add(new EventSourceMappingPoller($"ingest {s.Name}", lake.Sqs, q.Url, q.Arn, settings.Region, async (json, ct) =>
            {
                foreach (var m in System.Text.Json.JsonSerializer.Deserialize(json, LambdaJsonContext.Default.SqsEvent)?.Records ?? [])
                    _deliveries.Enqueue(new Delivery(s.Name, m.Body ?? ""));
                var r = await fn.HandleEventAsync(json, ct);
                foreach (var o in r.Outcomes) _ingestOutcomes.Enqueue(o);
                return r;
            }, MappingOptions(settings.IngestBatchSize)));
        }
        for (var i = 0; i < Math.Max(1, settings.RefineConcurrency); i++)
            mappings.Add(new EventSourceMappingPoller("refine", lake.Sqs, refresh.Url, refresh.Arn, settings.Region, (json, ct) =>
            {
                foreach (var m in System.Text.Json.JsonSerializer.Deserialize(json, LambdaJsonContext.Default.SqsEvent)?.Records ?? [])
                    _deliveries.Enqueue(new Delivery(RefreshSource, m.Body ?? ""));
                return RefineFunction.HandleEventAsync(json, ct);
            }, MappingOptions(settings.RefineBatchSize)));
        Mappings = mappings;
        EventSourceMappingOptions MappingOptions(int batch) => new(batch, VisibilityTimeoutSeconds: 300, RetryDelaySeconds: settings.RetryDelaySeconds, WaitTimeSeconds: 1);
    }

    /// <summary>The <see cref="Delivery.Source"/> of refresh queue messages.</summary>
    public const string RefreshSource = "refresh";

    /// <summary>Settings.</summary>
    public EmulationSettings Settings { get; }
    /// <summary>The endpoint of every service.</summary>
    public string Endpoint { get; }
    /// <summary>The functions' environment variables, as the stack sets them (without <c>STEDI_SOURCE</c>).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }
    /// <summary>The functions' configuration, read from <see cref="Environment"/>.</summary>
    public FunctionEnvironment Function { get; }
    /// <summary>The AWS adapters and clients.</summary>
    public AwsLake Lake { get; }
    /// <summary>Landing queues by source name.</summary>
    public IReadOnlyDictionary<string, QueuePair> LandingQueues { get; }
    /// <summary>The FIFO refresh queue.</summary>
    public QueuePair RefreshQueue { get; }
    /// <summary>The functions' log.</summary>
    public ILakeLog Log { get; }
    /// <summary>Domain refine over the AWS adapters.</summary>
    public Refiner Refiner { get; }
    /// <summary>The ingest function of each source (<c>STEDI_SOURCE</c> set), by source name.</summary>
    public IReadOnlyDictionary<string, IngestFunction> IngestFunctions { get; }
    /// <summary>The refine function.</summary>
    public RefineFunction RefineFunction { get; }
    /// <summary>The event source mappings: one per landing queue, then the refresh queue's pollers.</summary>
    public IReadOnlyList<EventSourceMappingPoller> Mappings { get; }
    /// <summary>Per-record outcomes of every ingest invocation so far.</summary>
    public IReadOnlyList<RecordOutcome> IngestOutcomes => _ingestOutcomes.ToList();
    /// <summary>Every message body the mappings delivered (with redeliveries), landing and refresh.</summary>
    public IReadOnlyList<Delivery> Deliveries => _deliveries.ToList();

    /// <summary>Creates the resources and wires the functions.</summary>
    /// <param name="endpoint">The emulator's URL (e.g. moto's), used for every service.</param>
    /// <param name="settings">Names and limits.</param>
    /// <param name="log">The functions' log (null: none).</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="Amazon.Runtime.AmazonServiceException">A service refused a create call.</exception>
    public static async Task<EmulatedDeployment> CreateAsync(string endpoint, EmulationSettings settings, ILakeLog? log = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var n = settings.Name;
        var bucket = n;
        var table = $"{n}-index";
        var database = n.Replace('-', '_');
        AwsLake bootstrap = AwsLake.Create(new AwsLakeConfig(bucket, table, "unused", database, settings.Region, endpoint), AwsLake.EmulatorCredentials);
        try
        {
            var sqs = bootstrap.Sqs;
            async Task<QueuePair> CreatePairAsync(string name, bool fifo)
            {
                var suffix = fifo ? ".fifo" : "";
                static string Days(int days) => (days * 86_400).ToString(CultureInfo.InvariantCulture);
                var dlqAttrs = new Dictionary<string, string> { ["MessageRetentionPeriod"] = Days(Topology.DeadLetterRetentionDays) };
                if (fifo) dlqAttrs["FifoQueue"] = "true";
                var dlq = await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = $"{name}-dlq{suffix}", Attributes = dlqAttrs }, ct);
                var dlqArn = await ArnAsync(sqs, dlq.QueueUrl, ct);
                var attrs = new Dictionary<string, string>
                {
                    ["MessageRetentionPeriod"] = Days(Topology.QueueRetentionDays),
                    ["VisibilityTimeout"] = (fifo ? Topology.RefreshVisibilityTimeoutSeconds : Topology.LandingVisibilityTimeoutSeconds).ToString(CultureInfo.InvariantCulture),
                    ["RedrivePolicy"] = $"{{\"deadLetterTargetArn\":\"{dlqArn}\",\"maxReceiveCount\":{settings.MaxReceives.ToString(CultureInfo.InvariantCulture)}}}",
                };
                if (fifo)
                {
                    // As the stack: content-based deduplication off (unique deduplication ids), high-throughput FIFO.
                    attrs["FifoQueue"] = "true";
                    attrs["ContentBasedDeduplication"] = "false";
                    attrs["DeduplicationScope"] = Topology.RefreshDeduplicationScope;
                    attrs["FifoThroughputLimit"] = Topology.RefreshFifoThroughputLimit;
                    attrs["DelaySeconds"] = settings.RefreshDeliveryDelaySeconds.ToString(CultureInfo.InvariantCulture);
                }
                var q = await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = name + suffix, Attributes = attrs }, ct);
                return new QueuePair(q.QueueUrl, await ArnAsync(sqs, q.QueueUrl, ct), dlq.QueueUrl);
            }
            var landing = new Dictionary<string, QueuePair>(StringComparer.Ordinal);
            foreach (var s in LandingSource.All) landing[s.Name] = await CreatePairAsync($"{n}-{s.Name.Replace('_', '-')}-landing", fifo: false);
            var refresh = await CreatePairAsync($"{n}-refresh", fifo: true);

            await bootstrap.S3.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, ct);
            await bootstrap.S3.PutBucketVersioningAsync(new PutBucketVersioningRequest
            {
                BucketName = bucket, VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
            }, ct);
            // S3 sends an s3:TestEvent to each queue when the configuration is saved, as AWS does; the functions acknowledge it.
            await bootstrap.S3.PutBucketNotificationAsync(new PutBucketNotificationRequest
            {
                BucketName = bucket,
                QueueConfigurations = LandingSource.All.Select(s => new QueueConfiguration
                {
                    Id = $"{s.Name}-landing",
                    Queue = landing[s.Name].Arn,
                    Events = Topology.LandingEvents.Select(e => EventType.FindValue(e)).ToList(), // as the stack subscribes
                    Filter = new Filter { S3KeyFilter = new S3KeyFilter { FilterRules = [new FilterRule("prefix", Topology.LandingPrefix(s.Name))] } },
                }).ToList(),
            }, ct);
            await bootstrap.DynamoDb.CreateTableAsync(new CreateTableRequest
            {
                TableName = table,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.S)],
                KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
            }, ct);

            // The stack generates the customer-key secret (64 characters, no punctuation); so does the emulation.
            string secretArn;
            using (var secrets = new SecretsManagerSecret(settings.Region, AwsLake.EmulatorCredentials, endpoint))
                secretArn = await secrets.CreateAsync($"{n}-customer-key", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ct);

            var environment = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [Topology.Env.CustomerKeySecretId] = secretArn,
                [Topology.Env.LakeBucket] = bucket,
                [Topology.Env.IndexTable] = table,
                [Topology.Env.RefreshQueueUrl] = refresh.Url,
                [Topology.Env.GlueDatabase] = database,
                [Topology.Env.Profile] = settings.Profile.ToString().ToLowerInvariant(),
                ["AWS_REGION"] = settings.Region,
                ["STEDI_ENDPOINT_URL"] = endpoint,
            };
            if (settings.MaxObjectBytes is { } max) environment[Topology.Env.MaxObjectBytes] = max.ToString(CultureInfo.InvariantCulture);
            var function = FunctionEnvironment.FromEnvironment(k => environment.GetValueOrDefault(k));
            var lake = AwsLake.Create(function.Lake, AwsLake.EmulatorCredentials);
            var deployment = new EmulatedDeployment(settings, endpoint, environment, function, lake, landing, refresh, log ?? NullLakeLog.Instance);
            // The tables the Catalog stack declares, from the same definitions (GlueTables: columns, locations, partition
            // projection); the functions make no catalog call.
            foreach (var t in GlueTables.Published(settings.Profile, bucket))
                await lake.Catalog.PutTableAsync(new CatalogTable(t.Name, t.TableType,
                    t.Columns.Select(c => (c.Name, c.Type, c.Comment ?? "")).ToList(), t.PartitionKeys.Select(c => (c.Name, c.Type, c.Comment ?? "")).ToList(),
                    t.Location, t.InputFormat, t.OutputFormat, t.SerializationLibrary, t.Parameters, t.Description, t.SerDeParameters), ct);
            return deployment;
        }
        finally { bootstrap.Dispose(); }
    }

    private static async Task<string> ArnAsync(IAmazonSQS sqs, string url, CancellationToken ct) =>
        (await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["QueueArn"] }, ct)).Attributes["QueueArn"];

    /// <summary>Uploads every landing file under a folder with PutObject, as <c>&lt;source&gt;/landing/&lt;file&gt;</c>; S3 notifies the landing queues.</summary>
    /// <param name="landingDir">Folder of <c>customer/</c>, <c>accelerometer/</c>, <c>step_trainer/</c>.</param>
    /// <param name="order">Order of the uploads (default: by key, customer first).</param>
    /// <param name="onUploaded">Called after each upload with (uploaded, total).</param>
    /// <param name="ct">Cancellation.</param>
    /// <returns>The keys, in upload order.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public async Task<IReadOnlyList<string>> UploadAsync(string landingDir, Func<IEnumerable<string>, IEnumerable<string>>? order = null,
        Action<int, int>? onUploaded = null, CancellationToken ct = default)
    {
        if (!Directory.Exists(landingDir)) throw new DirectoryNotFoundException($"landing folder not found: {landingDir}");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(landingDir, "*", SearchOption.AllDirectories))
            if (LocalPipeline.LandingKeyFor(Path.GetRelativePath(landingDir, file)) is { } key) files[key] = file;
        var keys = files.Keys.OrderBy(k => LandingSource.ForKey(k)!.Kind).ThenBy(k => k, StringComparer.Ordinal).ToList();
        if (order is not null) keys = order(keys).ToList();
        var done = 0;
        foreach (var key in keys)
        {
            await UploadAsync(key, files[key], ct);
            onUploaded?.Invoke(++done, keys.Count);
        }
        return keys;
    }

    /// <summary>Uploads one file to one key with PutObject.</summary>
    public async Task UploadAsync(string key, string file, CancellationToken ct = default) =>
        await Lake.S3.PutObjectAsync(new PutObjectRequest { BucketName = Lake.Config.Bucket, Key = key, FilePath = file, ContentType = "application/json" }, ct);

    /// <summary>
    /// Runs every event source mapping until all queues are empty (no visible or in-flight message) and stay so for
    /// <paramref name="quiet"/>; messages that keep failing end in their DLQ through the redrive policy meanwhile.
    /// </summary>
    /// <remarks>
    /// A failed message waiting out its retry delay is in flight, so it counts in the depth: the quiet window only has
    /// to outlast the gap between a handler's last delete and the depth read. The mappings stop gracefully: a poll
    /// already waiting in ReceiveMessage finishes (and handles what it received) instead of being cancelled, because a
    /// cancelled long poll can still take a message on the server, which would then stay invisible for the mapping's
    /// visibility timeout (300 s) and stall the next run.
    /// </remarks>
    /// <param name="quiet">How long the queues must stay empty (default 0.5 s).</param>
    /// <param name="timeout">Give up after this long (default 30 min).</param>
    /// <param name="ct">Cancellation (stops at once: a batch being handled is abandoned, as when a Lambda times out).</param>
    /// <exception cref="TimeoutException">The queues did not drain in time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task RunUntilQuietAsync(TimeSpan? quiet = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var limit = timeout ?? TimeSpan.FromMinutes(30);
        var deadline = DateTime.UtcNow + limit;
        await RunMappingsAsync(quiet, ct, ct, (depth, isQuiet) =>
        {
            if (isQuiet) return true;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"queues still hold {depth} message(s) after {limit.TotalMinutes:0} min");
            return false;
        }).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Runs every event source mapping until <paramref name="stop"/> is cancelled — the deployment as a service: files
    /// uploaded to the landing prefixes by anyone (the AWS CLI, a producer under test) flow through the functions as they
    /// arrive. Each time the queues go quiet after some activity, <paramref name="onQuiet"/> is called once.
    /// </summary>
    /// <param name="onQuiet">Called (on the monitoring task) when every queue has stayed empty for <paramref name="quiet"/>
    /// after messages were received; it may be slow (the pollers go on meanwhile).</param>
    /// <param name="stop">Stops polling: no new batch is received; batches being handled finish and are settled.</param>
    /// <param name="abort">Abandons the batches being handled too (e.g. a second Ctrl+C).</param>
    /// <param name="quiet">How long the queues must stay empty (default 0.5 s).</param>
    public async Task ServeAsync(Func<CancellationToken, Task>? onQuiet, CancellationToken stop, CancellationToken abort = default, TimeSpan? quiet = null)
    {
        long reportedAt = -1;
        Task? reporting = null;
        try
        {
            await RunMappingsAsync(quiet, stop, abort, (_, isQuiet) =>
            {
                var received = Mappings.Sum(m => m.Received);
                if (isQuiet && received != reportedAt && (reporting is null || reporting.IsCompleted))
                {
                    reportedAt = received;
                    if (onQuiet is not null) reporting = onQuiet(abort);
                }
                return false;
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested) { }
        if (reporting is not null) await reporting.ConfigureAwait(false);
    }

    /// <summary>
    /// The mappings' polling loops and a monitor of the queue depths. Refresh work waits while landing messages are still
    /// arriving, as a batching window would: the tables are the same either way (order independence), and the refine
    /// mapping then recomputes each partition about once. <paramref name="onTick"/> gets the depth and whether the
    /// queues have been quiet long enough, and returns true to stop. <paramref name="stopPolling"/> stops gracefully
    /// (a poll in progress finishes and handles what it received); <paramref name="abort"/> cancels the polls too.
    /// </summary>
    private async Task RunMappingsAsync(TimeSpan? quiet, CancellationToken stopPolling, CancellationToken abort, Func<long, bool, bool> onTick)
    {
        var quietFor = quiet ?? TimeSpan.FromMilliseconds(500);
        var stopping = 0;
        var lastActivity = new long[Mappings.Count];
        var landingBusy = 1;
        var loops = Mappings.Select((m, i) => Task.Run(async () =>
        {
            var isRefine = m.QueueUrl == RefreshQueue.Url;
            while (Volatile.Read(ref stopping) == 0 && !abort.IsCancellationRequested)
            {
                if (isRefine && Volatile.Read(ref landingBusy) == 1)
                {
                    await Task.Delay(50, CancellationToken.None);
                    continue;
                }
                PollResult r;
                try { r = await m.PollOnceAsync(abort); }
                catch (OperationCanceledException) when (abort.IsCancellationRequested) { return; }
                if (r.Received > 0) Interlocked.Exchange(ref lastActivity[i], DateTime.UtcNow.Ticks);
                // An empty receive already waited (long poll); a short pause keeps moto from answering nothing in a loop.
                else await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None)).ToList();
        DateTime? emptySince = null;
        var wasQuiet = false;
        try
        {
            while (true)
            {
                // Quiet, the monitor looks less often: a served deployment idles without keeping moto busy.
                await Task.Delay(wasQuiet ? 1000 : 200, stopPolling);
                var faulted = loops.FirstOrDefault(t => t.IsFaulted);
                if (faulted is not null) await faulted;
                long landingDepth = 0;
                foreach (var url in LandingQueues.Values.Select(q => q.Url)) landingDepth += await CountAsync(url, stopPolling);
                var depth = landingDepth + await CountAsync(RefreshQueue.Url, stopPolling);
                Volatile.Write(ref landingBusy, landingDepth > 0 ? 1 : 0);
                var now = DateTime.UtcNow;
                var recent = false;
                for (var i = 0; i < lastActivity.Length; i++)
                    recent |= now - new DateTime(Interlocked.Read(ref lastActivity[i]), DateTimeKind.Utc) < quietFor;
                if (depth > 0 || recent) emptySince = null;
                else emptySince ??= now;
                wasQuiet = emptySince is { } since && since + quietFor <= now;
                if (onTick(depth, wasQuiet)) break;
            }
        }
        finally
        {
            Volatile.Write(ref stopping, 1);
            try { await Task.WhenAll(loops); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>Visible plus in-flight messages of the landing and refresh queues (not the DLQs).</summary>
    public async Task<long> DepthAsync(CancellationToken ct = default)
    {
        long total = 0;
        foreach (var url in LandingQueues.Values.Select(q => q.Url).Append(RefreshQueue.Url))
            total += await CountAsync(url, ct);
        return total;
    }

    /// <summary>Messages in a queue, visible or in flight.</summary>
    public async Task<long> CountAsync(string queueUrl, CancellationToken ct = default)
    {
        var a = await Lake.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = queueUrl, AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }, ct);
        return a.Attributes.Sum(kv => long.Parse(kv.Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Messages waiting in the dead-letter queues (landing and refresh).</summary>
    public async Task<long> DeadLettersAsync(CancellationToken ct = default)
    {
        long total = 0;
        foreach (var url in LandingQueues.Values.Select(q => q.DlqUrl).Append(RefreshQueue.DlqUrl)) total += await CountAsync(url, ct);
        return total;
    }

    /// <summary>Every row and partition folder of every published table, read back from the Parquet objects in the bucket.</summary>
    public Task<PublishedData> ReadPublishedAsync(CancellationToken ct = default) => PublishedData.ReadAsync(Lake.ObjectStore, Settings.Profile, ct);

    /// <summary>The same summary as <c>stedi run</c>, with the row counts read back from the Parquet objects in S3
    /// and the rest from the index table (ingest manifests, refine outcomes).</summary>
    public async Task<RunSummary> SummarizeAsync(TimeSpan elapsed, CancellationToken ct = default)
    {
        var published = await ReadPublishedAsync(ct);
        var counts = published.Rows.ToDictionary(kv => kv.Key, kv => (long)kv.Value.Count);
        var summary = await RunSummary.FromIndexAsync(Lake.Index, Lake.ObjectStore, Settings.Profile, elapsed, counts, IngestOutcomes, ct);
        summary.Recomputes = Mappings.Where(m => m.QueueUrl == RefreshQueue.Url).Sum(m => m.Deleted);
        return summary;
    }

    /// <summary>Disposes the clients (the resources stay in the emulator).</summary>
    public void Dispose() => Lake.Dispose();
}

/// <summary>Rows and partition folders of the published tables, read back from S3.</summary>
public sealed class PublishedData
{
    /// <summary>
    /// Reads every published table of a profile from an object store (S3 or the local folder store): the Parquet
    /// objects under <c>trusted/</c> and <c>curated/</c>, keyed <c>&lt;zone&gt;/&lt;table&gt;/&lt;key&gt;=&lt;value&gt;/*.parquet</c>.
    /// </summary>
    public static async Task<PublishedData> ReadAsync(IObjectStore store, ConsentProfile profile, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var data = new PublishedData();
        foreach (var t in Tables.Published(profile)) { data.Rows[t.Name] = []; data.Partitions[t.Name] = []; }
        foreach (var zone in new[] { "trusted/", "curated/" })
            foreach (var o in await store.ListAsync(zone, ct))
            {
                if (!o.Key.EndsWith(".parquet", StringComparison.Ordinal)) continue;
                var parts = o.Key.Split('/');
                if (parts.Length < 4 || !data.Rows.TryGetValue(parts[1], out var rows)) continue;
                var schema = Tables.ByName(parts[1], profile);
                using var buffer = new MemoryStream();
                await using (var s = await store.OpenReadAsync(o.Key, ct)) await s.CopyToAsync(buffer, ct);
                buffer.Position = 0;
                rows.AddRange((await ParquetTable.ReadAsync(schema, buffer, null, ct)).ToRows());
                var prefix = schema.PartitionKey + "=";
                if (parts[2].StartsWith(prefix, StringComparison.Ordinal)) data.Partitions[parts[1]].Add(parts[2][prefix.Length..]);
            }
        return data;
    }

    /// <summary>Rows per table (in schema column order).</summary>
    public SortedDictionary<string, List<object?[]>> Rows { get; } = new(StringComparer.Ordinal);
    /// <summary>Partition values per table, one per partition folder holding a Parquet object.</summary>
    public SortedDictionary<string, SortedSet<string>> Partitions { get; } = new(StringComparer.Ordinal);
}
