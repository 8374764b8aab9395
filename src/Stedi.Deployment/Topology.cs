using Stedi.Lakehouse;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;

namespace Stedi.Deployment;

/// <summary>
/// Every figure the CDK stacks (<c>cdk/Stedi.Cdk</c>), the Lambda functions and the emulated deployment
/// (<c>stedi emulate</c>) must agree on: queue redrive, event source mapping batch sizes and concurrency, visibility
/// timeouts, function memory / timeout / <c>/tmp</c>, the object size guard, the environment variable names and the
/// lake bucket's key layout. One copy: change a figure here and the stack, the functions and the emulation follow.
/// </summary>
/// <remarks>
/// Each figure says why it has its value and which AWS limit it is designed around; the root README's
/// "Deploying to AWS" section tabulates them. AWS documentation cited:
/// <list type="bullet">
/// <item>Lambda quotas: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (timeout at most
/// 900 s; memory 128–10,240 MB; <c>/tmp</c> 512–10,240 MB; new accounts start with reduced concurrency and memory quotas).</item>
/// <item>Lambda memory and CPU: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html (at 1,769 MB a
/// function has the equivalent of one vCPU).</item>
/// <item>Lambda ephemeral storage: https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html.</item>
/// <item>SQS event source mappings: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html (maximum
/// concurrency; FIFO concurrency is also bounded by the number of active message groups) and
/// https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html (MaximumConcurrency 2–1,000).</item>
/// <item>SQS visibility for a Lambda trigger: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-lambda-function-trigger.html
/// (at least six times the function timeout).</item>
/// <item>SQS batch limits: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
/// (at most 10 messages per batch request).</item>
/// </list>
/// </remarks>
public static class Topology
{
    // ---------------------------------------------------------------- sources

    /// <summary>The three landing sources, as named in S3 prefixes, in <see cref="Env.Source"/> and in construct ids.</summary>
    public static readonly IReadOnlyList<string> Sources = LandingSource.All.Select(s => s.Name).ToList();

    // ---------------------------------------------------------------- queues and event source mappings

    /// <summary>
    /// Receives before a message moves to its dead-letter queue (the redrive policy's <c>maxReceiveCount</c>), on every
    /// queue. Five, as Lambda's SQS documentation recommends for a queue behind an event source mapping: a receive is
    /// also counted when an invocation is throttled, and fewer receives would dead-letter healthy messages during a burst.
    /// </summary>
    public const int MaxReceiveCount = 5;

    /// <summary>SQS's largest batch: ReceiveMessage returns at most 10 messages, and a batch action takes at most 10
    /// entries (SQS message quotas). Also the largest batch size of an event source mapping on a FIFO queue.</summary>
    public const int SqsMaxBatchEntries = 10;

    /// <summary>
    /// Batch size of the landing-queue mappings: one landing object per invocation, so the function timeout bounds the
    /// work of one (possibly multi-GB) object, and a failed object retries alone.
    /// </summary>
    public const int IngestBatchSize = 1;

    /// <summary>
    /// Batch size of the refresh-queue mapping: the FIFO maximum. Messages of different partitions (message groups)
    /// are recomputed in one invocation; a failed one is reported in <c>batchItemFailures</c> and retried alone.
    /// </summary>
    public const int RefineBatchSize = SqsMaxBatchEntries;

    /// <summary>
    /// <c>MaximumConcurrency</c> of each landing-queue mapping (Lambda allows 2–1,000; without it each standard queue
    /// could take the whole account's concurrency, and throttled invocations raise receive counts toward the DLQ).
    /// <list type="bullet">
    /// <item><c>customer</c> = 2, Lambda's minimum: customer files are few and small (the seed's one file of 294 KB
    /// holds every customer), and each one enqueues a recompute of every customer bucket, so two customer files in
    /// parallel only queue the same refine work twice.</item>
    /// <item><c>accelerometer</c> = 5 and <c>step_trainer</c> = 5: these carry the volume (N = 100 of the benchmark is
    /// 1,100 objects of 10,000 readings). Five is the number of batches Lambda starts polling a standard queue with,
    /// so a burst is taken at the mapping's natural starting rate and never scales past it; five concurrent objects of
    /// the size guard's worst case keep DynamoDB on demand far below a new table's initial throughput and S3 far below
    /// its per-prefix request rates.</item>
    /// </list>
    /// Together the ingest mappings run at most 12 instances, which <see cref="RefineMaximumConcurrency"/> matches.
    /// </summary>
    public static int IngestMaximumConcurrency(string source) => source switch
    {
        "customer" => 2,
        "accelerometer" => 5,
        "step_trainer" => 5,
        _ => throw new ArgumentException($"unknown source '{source}'", nameof(source)),
    };

    /// <summary>
    /// <c>MaximumConcurrency</c> of the refresh-queue mapping: 12, the ingest mappings' total. In the benchmark refine
    /// work equals ingest work (N = 100: 389 busy-seconds of refine against 364 of ingest), so refine keeps pace with a
    /// full ingest burst without letting a backfill take more than 12 instances. On a FIFO queue Lambda also never runs
    /// more instances than there are message groups with visible messages (one group per table partition), so a quiet
    /// lake uses far fewer.
    /// </summary>
    public const int RefineMaximumConcurrency = 12;

    /// <summary>
    /// Visibility timeout of the landing queues: six times <see cref="IngestTimeoutSeconds"/>, as the SQS documentation
    /// asks for a queue that triggers a Lambda function (room for Lambda to retry after throttling). A failed object is
    /// received again after 90 min; with <see cref="MaxReceiveCount"/> it reaches the DLQ after at most 7.5 h, well
    /// inside the queues' 4-day retention.
    /// </summary>
    public const int LandingVisibilityTimeoutSeconds = 6 * IngestTimeoutSeconds;

    /// <summary>
    /// Visibility timeout of the FIFO refresh queue: six times <see cref="RefineTimeoutSeconds"/> (18 min). A failing
    /// refresh message blocks its message group (that one partition) until it succeeds or moves to the DLQ: at most
    /// <see cref="MaxReceiveCount"/> × 18 min = 90 min (it was 150 min with a 5-minute refine timeout).
    /// </summary>
    public const int RefreshVisibilityTimeoutSeconds = 6 * RefineTimeoutSeconds;

    /// <summary>Retention of the landing and refresh queues: 4 days (SQS's default). <see cref="MaxReceiveCount"/> ×
    /// <see cref="LandingVisibilityTimeoutSeconds"/> (7.5 h) of retries fit in it many times over.</summary>
    public const int QueueRetentionDays = 4;

    /// <summary>Retention of the dead-letter queues: 14 days, the SQS maximum (SQS message quotas), to inspect and
    /// redrive.</summary>
    public const int DeadLetterRetentionDays = 14;

    /// <summary>The S3 events each landing prefix sends to its queue: created objects are ingested, removed ones
    /// retracted (the tables are a function of the landing objects that exist).</summary>
    public static readonly IReadOnlyList<string> LandingEvents = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"];

    /// <summary>The refresh queue's <c>DeduplicationScope</c>: per message group (one group per table partition), as
    /// high-throughput FIFO requires
    /// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html).</summary>
    public const string RefreshDeduplicationScope = "messageGroup";

    /// <summary>The refresh queue's <c>FifoThroughputLimit</c>: the throughput quota applies per message group.</summary>
    public const string RefreshFifoThroughputLimit = "perMessageGroupId";

    /// <summary>
    /// The refresh queue's delivery delay (<c>DelaySeconds</c>): 10 s. A partition's pending mark stays "not started"
    /// for at least this long, so every ingest of an upload burst that touches the partition in that time is coalesced
    /// into the one message already sent (the local queue does the same with
    /// <c>LocalPipeline.InterleaveRefreshDelay</c>; refining as events arrive it halves the accelerometer recomputes of
    /// the benchmark). Tables are at most this much later than without it. FIFO queues take a delay per queue only,
    /// up to 15 minutes (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html).
    /// </summary>
    public const int RefreshDeliveryDelaySeconds = 10;

    // ---------------------------------------------------------------- functions

    /// <summary>Ingest function timeout: 900 s, Lambda's maximum (15 minutes). The object size guard is sized to use at
    /// most a third of it (see <see cref="MaxObjectBytes"/>).</summary>
    public const int IngestTimeoutSeconds = 900;

    /// <summary>
    /// Refine function timeout: 180 s for one batch of up to <see cref="RefineBatchSize"/> partitions. The benchmark's
    /// costliest recompute (accelerometer_trusted, ~40,000 readings an hour) took about 1 s on a quiet core and 5 s
    /// under heavy load, so a full batch needs at most ~50 s: 3.6× headroom, while a failing partition blocks its FIFO
    /// group for 90 min instead of 150 (see <see cref="RefreshVisibilityTimeoutSeconds"/>).
    /// </summary>
    public const int RefineTimeoutSeconds = 180;

    /// <summary>
    /// Ingest memory: 1,769 MB, the size at which Lambda gives a function one full vCPU. Ingest streams one object on
    /// one thread and is CPU-bound (parse, Parquet encode); its measured peak is under
    /// <see cref="MeasuredIngestPeakRssMb"/> MB, so memory is bought for CPU: below 1,769 MB the same work runs
    /// proportionally slower at about the same GB-s cost, above it the extra vCPU share stays idle.
    /// </summary>
    public const int IngestMemoryMb = 1769;

    /// <summary>
    /// Refine memory: 2,048 MB. A recompute holds one slice of its partition (at most <c>LakeOptions.SliceRows</c>,
    /// 2,000,000 staged rows, split by a hash of the customer), the consent views of its customers and the upstream
    /// partition; BENCHMARKS.md's 10M-row hour refined at a 640 MB peak RSS without a cache, as a Lambda runs, so
    /// 2 GB leaves three times that, and buys ~1.16 vCPU.
    /// </summary>
    public const int RefineMemoryMb = 2048;

    /// <summary>
    /// Ingest <c>/tmp</c>: 10,240 MB, Lambda's maximum. Ingest spills staged rows as Parquet and quarantined records as
    /// JSON lines to <c>/tmp</c> before uploading them. Staged Parquet is a fraction of the landing JSON, but a
    /// quarantine line carries the raw record plus its key, line, offset and reason, so an object whose records are
    /// mostly bad needs up to about twice its size: the guard is sized so that 2 × <see cref="MaxObjectBytes"/> and 1 GiB
    /// more fit (<see cref="EphemeralStorageBoundBytes"/>). The storage above
    /// the free 512 MB adds about 1.3 % to an ingest invocation's duration price.
    /// </summary>
    public const int IngestEphemeralStorageMb = 10_240;

    /// <summary>Refine <c>/tmp</c>: the default 512 MB, set explicitly; refine works in memory and spills nothing.</summary>
    public const int RefineEphemeralStorageMb = 512;

    // ---------------------------------------------------------------- object size guard

    // The three measured figures below are BENCHMARKS.md's "One big object" row: the typed engine ingesting the
    // 1,027.6 MiB accelerometer object of the big-object scenario alone (one thread of the bench machine, composite
    // ReadyToRun build) in 18.4–25.5 s over four runs, peaking at 250–264 MB RSS. The slowest run and the highest
    // peak are used. When the scenario is measured again, update them; the guard, the README's limits table and
    // TopologyTests follow from these constants.

    /// <summary>Bytes of the landing object in the measurement the guard is sized from: a 1 GB accelerometer object.</summary>
    public const long MeasuredIngestBytes = 1_077_520_000;

    /// <summary>Seconds the typed engine took to ingest <see cref="MeasuredIngestBytes"/> on the bench machine: 26 (the
    /// slowest of four runs, 25.5 s, rounded up; ~41 MB/s).</summary>
    public const int MeasuredIngestSeconds = 26;

    /// <summary>Peak RSS in MB during that ingest: 264, the highest of four runs (the row-by-row engine's was 476 MB).</summary>
    public const int MeasuredIngestPeakRssMb = 264;

    /// <summary>
    /// How much slower a Lambda vCPU (arm64, at <see cref="IngestMemoryMb"/>) is assumed to be than the benchmark
    /// machine's core: 2×. Not measured on Lambda yet; a conservative assumption until the benchmark runs there.
    /// </summary>
    public const int AssumedLambdaSlowdown = 2;

    /// <summary>The share of <see cref="IngestTimeoutSeconds"/> the largest accepted object may take at the assumed
    /// Lambda speed: a third (300 s), leaving the rest for S3 and DynamoDB latency, retries and the index writes.</summary>
    public const int GuardTimeoutDivisor = 3;

    private const long GiB = 1L << 30;

    /// <summary>The largest object the ingest timeout allows, rounded down to whole GiB: 1.08 GB in 26 s is 41 MB/s on
    /// the benchmark machine, 20.7 MB/s at <see cref="AssumedLambdaSlowdown"/>; a third of the 900 s timeout is 300 s,
    /// i.e. 6.2 GB, rounded down to 5 GiB.</summary>
    public const long TimeoutBoundBytes =
        MeasuredIngestBytes * (IngestTimeoutSeconds / GuardTimeoutDivisor) / (MeasuredIngestSeconds * AssumedLambdaSlowdown) / GiB * GiB;

    /// <summary>The largest object ingest's <c>/tmp</c> holds the spills of, rounded down to whole GiB: a mostly bad
    /// object spills about twice its size as quarantine lines, beside its staged Parquet, so (10,240 MiB − 1 GiB of
    /// headroom) / 2 = 4.5 GiB, rounded down to 4 GiB.</summary>
    public const long EphemeralStorageBoundBytes = ((long)IngestEphemeralStorageMb * 1024 * 1024 - GiB) / 2 / GiB * GiB;

    /// <summary>
    /// The object size guard (<see cref="Env.MaxObjectBytes"/>): the largest landing object one ingest accepts; larger
    /// ones are answered <c>object_too_large</c> (a manifest and quarantine record) instead of timing out five times.
    /// The smaller of <see cref="TimeoutBoundBytes"/> (5 GiB) and <see cref="EphemeralStorageBoundBytes"/> (4 GiB):
    /// <b>4 GiB</b> (4,294,967,296 bytes; ~207 s at 20.7 MB/s). The guard compares the stored size (HEAD's
    /// Content-Length): a gzip object expands several times while it is read, which this guard does not bound.
    /// </summary>
    public const long MaxObjectBytes = TimeoutBoundBytes < EphemeralStorageBoundBytes ? TimeoutBoundBytes : EphemeralStorageBoundBytes;

    // ---------------------------------------------------------------- environment

    /// <summary>Names of the environment variables the stack sets on the functions (and the emulation sets in-process).</summary>
    public static class Env
    {
        /// <summary>The lake bucket's name.</summary>
        public const string LakeBucket = "STEDI_LAKE_BUCKET";
        /// <summary>The DynamoDB index table's name.</summary>
        public const string IndexTable = "STEDI_INDEX_TABLE";
        /// <summary>The FIFO refresh queue's URL.</summary>
        public const string RefreshQueueUrl = "STEDI_REFRESH_QUEUE_URL";
        /// <summary>The Glue database of the published tables (Athena's; the functions make no Glue call).</summary>
        public const string GlueDatabase = "STEDI_GLUE_DATABASE";
        /// <summary>The consent profile, <c>strict</c> or <c>rubric</c>.</summary>
        public const string Profile = "STEDI_PROFILE";
        /// <summary>The one landing source an ingest function serves (unset on refine).</summary>
        public const string Source = "STEDI_SOURCE";
        /// <summary>The object size guard in bytes (<see cref="Topology.MaxObjectBytes"/>).</summary>
        public const string MaxObjectBytes = "STEDI_MAX_OBJECT_BYTES";
        /// <summary>The Secrets Manager secret (its ARN) holding the HMAC key of customer keys (a 64-character string).</summary>
        public const string CustomerKeySecretId = "STEDI_CUSTOMER_KEY_SECRET_ID";
        /// <summary>
        /// Optional: the earliest plausible reading or update time (ISO 8601 date or date-time in UTC, epoch milliseconds,
        /// or <c>now-Nd</c>); records before it are quarantined as <c>out_of_range</c>. Default 2015-01-01.
        /// </summary>
        public const string TimeWindowMin = "STEDI_TIME_WINDOW_MIN";
        /// <summary>Optional: the latest plausible reading or update time (same forms as <see cref="TimeWindowMin"/>). Default <c>now+1d</c>.</summary>
        public const string TimeWindowMax = "STEDI_TIME_WINDOW_MAX";
        /// <summary>
        /// Optional: the name endings of landing objects that hold data, comma-separated (case-insensitive); other names
        /// under a landing prefix are skipped before any read. Default <c>.json,.jsonl,.ndjson,.json.gz,.jsonl.gz,.ndjson.gz</c>.
        /// </summary>
        public const string DataSuffixes = "STEDI_DATA_SUFFIXES";
    }

    // ---------------------------------------------------------------- lake key layout

    // Derived from the domain's own layout (LakeKeys, LandingSource, TableSchema), never copied, so the stack's IAM
    // resources, lifecycle prefixes and bucket policy name exactly the keys the code writes.

    /// <summary>The lake bucket's record of the profile its tables are built with, at the bucket root: every function reads
    /// it before it writes, and the first one to write creates it (<c>Stedi.Lakehouse.Aws.LakeBucketProfile</c>).</summary>
    public const string LakeProfileKey = LakeKeys.LakeProfile;

    /// <summary>Where a source's landing objects are dropped, e.g. <c>customer/landing/</c> (the STEDI course layout).</summary>
    /// <exception cref="ArgumentException">Unknown source.</exception>
    public static string LandingPrefix(string source) => LandingSource.ByName(source).LandingPrefix;

    /// <summary>Root of the staged zone: every parsed landing record, consenting or not.</summary>
    public const string StagedRoot = LakeKeys.StagedPrefix;

    /// <summary>A source's staged objects, <c>staged/&lt;source&gt;/&lt;partitionKey&gt;=&lt;value&gt;/&lt;objectId&gt;.parquet</c>
    /// (ingest's); refine writes and deletes only the compactions among them (<see cref="CompactedStagedPattern"/>).</summary>
    /// <exception cref="ArgumentException">Unknown source.</exception>
    public static string StagedPrefix(string source) => LandingSource.ByName(source).Staged.Prefix;

    /// <summary>
    /// Refine's compacted staged objects as an IAM resource pattern, <c>staged/*/compact-*</c>: a partition's
    /// <c>staged/&lt;source&gt;/&lt;key&gt;=&lt;value&gt;/compact-&lt;hash&gt;.parquet</c> and its <c>.json</c> manifest. In an IAM
    /// resource ARN <c>*</c> also matches <c>/</c>
    /// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html), and no landing
    /// object id starts with <c>compact-</c>, so the pattern names the compactions and nothing ingest writes.
    /// </summary>
    public const string CompactedStagedPattern = StagedRoot + "*/" + LakeKeys.CompactPrefix + "*";

    /// <summary>Root of the quarantine: raw records that failed to parse or validate.</summary>
    public const string QuarantineRoot = LakeKeys.QuarantinePrefix;

    /// <summary>A source's quarantine prefix, <c>quarantine/&lt;source&gt;/</c> (objects <see cref="LakeKeys.Quarantine"/>).</summary>
    public static string QuarantinePrefix(string source) => $"{QuarantineRoot}{LandingSource.ByName(source).Name}/";

    /// <summary>Root of the ingest manifests.</summary>
    public const string ManifestsRoot = LakeKeys.ManifestPrefix;

    /// <summary>A source's manifest prefix, <c>manifests/&lt;source&gt;/</c> (objects <see cref="LakeKeys.Manifest"/>).</summary>
    public static string ManifestPrefix(string source) => $"{ManifestsRoot}{LandingSource.ByName(source).Name}/";

    /// <summary>Root of the refine details (<see cref="LakeKeys.RefineDetail"/>: per recompute, rows filtered per rule and per landing object).</summary>
    public const string RefineRoot = LakeKeys.RefinePrefix;

    /// <summary>Root of the trusted tables, <c>trusted/&lt;table&gt;/...</c> (<see cref="TableSchema.Prefix"/> of a trusted table).</summary>
    public static string TrustedRoot { get; } = ZoneRoot(Zone.Trusted);

    /// <summary>Root of the curated tables, <c>curated/&lt;table&gt;/...</c>.</summary>
    public static string CuratedRoot { get; } = ZoneRoot(Zone.Curated);

    private static string ZoneRoot(Zone zone)
    {
        var prefix = Tables.Published(ConsentProfile.Strict).First(t => t.Zone == zone).Prefix;
        return prefix[..(prefix.IndexOf('/') + 1)];
    }
}
