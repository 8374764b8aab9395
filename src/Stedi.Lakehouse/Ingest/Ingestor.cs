using System.Security.Cryptography;
using System.Text;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Rules;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Ingest;

/// <summary>Outcome of one ingest call.</summary>
public enum IngestStatus
{
    /// <summary>The object was read and staged (possibly with quarantined records).</summary>
    Ingested,
    /// <summary>This version of the object was ingested before (idempotency key seen): nothing done.</summary>
    AlreadyProcessed,
    /// <summary>The key is not under a landing prefix (or is a folder marker): nothing read.</summary>
    Ignored,
    /// <summary>The key is under a landing prefix but its name is not a data file's (<see cref="LakeOptions.DataSuffixes"/>): nothing read.</summary>
    Skipped,
    /// <summary>The object no longer exists: reported, not retried.</summary>
    NotFound,
    /// <summary>The object is larger than one invocation may ingest: recorded (manifest, quarantine record), nothing staged.</summary>
    TooLarge,
    /// <summary>A deleted object's rows were retracted from every table (<see cref="Ingestor.RetractAsync"/>).</summary>
    Retracted,
}

/// <summary>Result of <see cref="Ingestor.IngestAsync"/> and <see cref="Ingestor.RetractAsync"/>.</summary>
/// <param name="Key">Decoded landing key.</param>
/// <param name="Status">What happened.</param>
/// <param name="Manifest">The ingest manifest when ingested (or recorded as too large; for a retraction, the manifest retracted).</param>
/// <param name="Reason">Reason code or explanation for the other outcomes.</param>
public sealed record IngestResult(string Key, IngestStatus Status, IngestManifest? Manifest, string? Reason = null);

/// <summary>
/// Ingest: one landing object in; typed staged Parquet (one object per partition), quarantine, manifest, consent and
/// partition index updates, and refresh work out (the refresh graph's edges from the source and from the consent
/// index). Streams the object: memory does not grow with its size. Deterministic keys make a retry overwrite rather
/// than duplicate. Order of writes: customer versions, staged data, membership and manifest first; refresh work next
/// (read after our own writes, docs/ARCHITECTURE.md §7, trap b); the ledger (the idempotency record, conditional on the version it
/// replaces) last, so a crash anywhere leaves the object un-ingested and its retry redoes the same writes.
/// </summary>
public sealed class Ingestor
{
    private const int ChunkRows = 8_192;

    /// <summary>Why an object under a landing prefix whose name is not a data file's is skipped (log, outcome and report).</summary>
    public const string SkippedReason = "unsupported object name";

    /// <summary>Prefix of the ledger's idempotency key of an object recorded as too large (never equal to a real version's).</summary>
    public const string TooLargePrefix = "too_large:";

    private readonly IObjectStore _store;
    private readonly LakeIndex _index;
    private readonly IWorkQueue _queue;
    private readonly LakeOptions _options;
    private readonly ConsentRules _rules;
    private readonly ILakeLog _log;
    private readonly IBatchCache _cache;
    private readonly RefreshGraph _graph;

    /// <summary>Creates the ingest over its ports.</summary>
    public Ingestor(IObjectStore store, LakeIndex index, IWorkQueue queue, LakeOptions options, ILakeLog? log = null, IBatchCache? cache = null, RefreshGraph? graph = null)
    {
        _store = store;
        _index = index;
        _queue = queue;
        _options = options;
        _rules = ConsentRules.For(options.Profile);
        _log = log ?? NullLakeLog.Instance;
        _cache = cache ?? NoBatchCache.Instance;
        _graph = graph ?? RefreshGraph.Stedi;
    }

    /// <summary>
    /// Whether <see cref="IngestAsync"/> or <see cref="RetractAsync"/> may read or write anything for <paramref name="key"/>:
    /// it is under a landing prefix, not a folder marker, and names a data object. Other keys are ignored or skipped
    /// without a read or a write (a function checks the lake's profile only before calls that may write).
    /// </summary>
    public bool MayWrite(string key) => !LandingSource.IsFolderMarker(key) && LandingSource.ForKey(key) is not null && _options.IsDataObjectName(key);

    /// <summary>Ingests the current version of a landing object.</summary>
    /// <param name="key">Decoded object key.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="IOException">Store or index failures propagate (the caller retries; output is overwritten, not duplicated).</exception>
    /// <exception cref="LedgerConflictException">Another version of the key was ingested concurrently (the caller retries).</exception>
    public async Task<IngestResult> IngestAsync(string key, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await IngestOnceAsync(key, force: attempt > 1, ct); }
            catch (LedgerConflictException e) when (attempt < 3)
            {
                // Another version of this key committed first, and our writes may have overwritten its staged objects:
                // ingest the current version again, whatever the ledger says, so the staged data is the committed one's.
                _log.Warn("ingest_conflict", ("key", key), ("attempt", attempt), ("message", e.Message));
            }
        }
    }

    private async Task<IngestResult> IngestOnceAsync(string key, bool force, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Every acknowledgement without work logs one info line saying which and why.
        if (LandingSource.IsFolderMarker(key))
        {
            _log.Info("ignored", ("key", key), ("reason", "folder marker"));
            return new IngestResult(key, IngestStatus.Ignored, null, "folder marker");
        }
        var source = LandingSource.ForKey(key);
        if (source is null)
        {
            _log.Info("ignored", ("key", key), ("reason", "not under a landing prefix"));
            return new IngestResult(key, IngestStatus.Ignored, null, "not under a landing prefix");
        }
        if (!_options.IsDataObjectName(key))
        {
            _log.Info("skipped", ("key", key), ("reason", SkippedReason));
            return new IngestResult(key, IngestStatus.Skipped, null, SkippedReason);
        }
        var head = await _store.HeadAsync(key, ct);
        if (head is null)
        {
            _log.Warn("object_not_found", ("key", key));
            return new IngestResult(key, IngestStatus.NotFound, null, ReasonCodes.ObjectNotFound);
        }
        var idem = head.VersionId ?? head.ETag;
        var previous = await _index.Ledger.GetAsync(key, ct);
        if (previous is not null && previous.IdempotencyKey == idem && !force)
        {
            _log.Info("already_processed", ("key", key), ("idempotencyKey", idem), ("reason", "this version was ingested before"));
            return new IngestResult(key, IngestStatus.AlreadyProcessed, null, "already processed");
        }
        var previousManifest = previous is null ? null : await ReadManifestAsync(previous.ManifestKey, ct);
        var objectId = Partitioning.ObjectId(key);
        var manifest = new IngestManifest { LandingKey = key, ObjectId = objectId, Source = source.Name, IdempotencyKey = idem, SizeBytes = head.Size };
        var manifestKey = LakeKeys.Manifest(source.Name, objectId);
        var quarantineKey = LakeKeys.Quarantine(source.Name, objectId);
        var producer = $"ingest:{key}:{idem}";

        if (head.Size > _options.MaxObjectBytes)
        {
            // Recorded once, never retried: a bigger function, or a split of the object, is the fix (the log says which limit).
            _log.Error("object_too_large", ("key", key), ("bytes", head.Size), ("limitBytes", _options.MaxObjectBytes));
            manifest.Status = "too_large";
            manifest.Warnings.Add($"object of {head.Size} bytes is larger than the {_options.MaxObjectBytes} bytes one invocation ingests; nothing staged");
            // Recorded under its own idempotency key: a redelivery after the limit was raised ingests it (and replaces this).
            await RecordUnstagedAsync(source, manifest, manifestKey, quarantineKey, TooLargePrefix + idem, previous, previousManifest, producer,
                new QuarantineRecord(key, 0, 0, ReasonCodes.ObjectTooLarge, $"object of {head.Size} bytes exceeds the limit of {_options.MaxObjectBytes} bytes", ""), ct);
            return new IngestResult(key, IngestStatus.TooLarge, manifest, ReasonCodes.ObjectTooLarge);
        }

        var pool = new StringPool();
        using var spool = new PartitionSpool(source.Staged, _options, pool);
        using var quarantine = new QuarantineSpool(_options.TempDirectory);
        var versions = new Dictionary<(string, string), CustomerVersion>();
        var membership = new MembershipFacts(source.Kind == SourceKind.Accelerometer ? MemberKind.Customer : MemberKind.Serial, _index.Keys);
        string contentHash;
        string? damaged;
        long readTicks = 0, stagedTicks = 0, followTicks = 0;
        try
        {
            await using var body = await _store.OpenReadAsync(key, head.VersionId, ct);
            using var hashing = new HashingStream(body);
            damaged = await ReadAsync(source, hashing, objectId, manifest, spool, quarantine, versions, membership, pool, ct);
            readTicks = System.Diagnostics.Stopwatch.GetTimestamp();
            contentHash = hashing.Hex();
        }
        catch (ObjectNotFoundException)
        {
            _log.Warn("object_not_found", ("key", key), ("reason", "deleted between HEAD and GET"));
            return new IngestResult(key, IngestStatus.NotFound, null, ReasonCodes.ObjectNotFound);
        }
        manifest.ContentHash = contentHash;
        if (damaged is not null)
        {
            // The compressed data failed its integrity check: what it decoded to may hold changed digits that still parse,
            // so none of it is staged (a cut-short object is not this: its rows up to the cut stand). Recorded like an object
            // too large: manifest, one quarantine record, the previous version's rows retracted; a new upload is a new version.
            var decoded = manifest.RowsRead;
            _log.Error("corrupt_object", ("key", key), ("decodedRecords", decoded), ("detail", damaged));
            var record = new IngestManifest
            {
                LandingKey = key, ObjectId = objectId, Source = source.Name, IdempotencyKey = idem, SizeBytes = head.Size, ContentHash = contentHash,
                Gzip = true, Status = "corrupt", RowsRead = decoded, RowsQuarantined = decoded,
            };
            // Counted, not dropped: every record decoded is quarantined under the one reason (the object itself holds their text).
            if (decoded > 0) record.QuarantinedByReason[ReasonCodes.CorruptCompression] = decoded;
            record.Warnings.Add($"{damaged}; none of the {decoded} record(s) decoded before the check failed were staged: upload the object again");
            await RecordUnstagedAsync(source, record, manifestKey, quarantineKey, idem, previous, previousManifest, producer,
                new QuarantineRecord(key, 0, 0, ReasonCodes.CorruptCompression,
                    $"the gzip data failed its integrity check (a CRC-32 that does not match the data, or damaged deflate data): none of the {decoded} " +
                    "record(s) decoded before the check failed were staged; upload the object again", ""), ct);
            return new IngestResult(key, IngestStatus.Ingested, record, ReasonCodes.CorruptCompression);
        }
        if (head.Size == 0 || manifest.RowsRead == 0) { manifest.Status = "empty"; manifest.Warnings.Add("empty object"); }
        else if (manifest.RowsQuarantined > 0) manifest.Status = "partial";
        if (manifest.UnwrappedArray)
            _log.Warn("unwrapped_array", ("key", key), ("elements", manifest.ArrayElements), ("closed", !manifest.ArrayNotClosed));
        if (manifest.SchemaDriftFields.Count > 0)
            _log.Warn("schema_drift", ("key", key), ("unknownFields", manifest.SchemaDriftFields.Count)); // names stay in the manifest: a field name can be personal data
        // An empty object holds no rows to duplicate: every empty file has the same hash, and naming one "the original" says nothing.
        foreach (var other in manifest.RowsRead == 0 ? [] : await _index.Ledger.FindByContentAsync(contentHash, ct))
        {
            if (other == key) continue;
            manifest.DuplicateOf = other;
            _log.Info("duplicate_content", ("key", key), ("original", other), ("contentHash", contentHash[..16]));
            break;
        }

        // 1. Customer versions: add the new records, retract those of the object's previous version. Done before the
        // staged objects are overwritten, so a retry after a crash still finds the previous records to retract.
        var retracted = new List<CustomerVersion>();
        if (source.Kind == SourceKind.Customer && previousManifest is not null)
            retracted = (await StagedVersionsAsync(previousManifest, ct)).Where(v => !versions.ContainsKey((v.CustomerKey, v.VersionId))).ToList();
        if (versions.Count > 0) await _index.Customers.PutVersionsAsync(versions.Values, ct);
        if (retracted.Count > 0) await _index.Customers.RemoveVersionsAsync(retracted.Select(v => new CustomerVersionRef(v.CustomerKey, v.VersionId)).ToList(), ct);

        // 2. Staged data (deterministic keys: a retry overwrites).
        foreach (var staged in await spool.UploadAsync(_store, _cache, objectId, ct))
        {
            manifest.Partitions.Add(staged.Partition);
            manifest.StagedKeys.Add(staged.Key);
        }
        var stale = previousManifest?.StagedKeys.Except(manifest.StagedKeys).ToList() ?? [];
        foreach (var k in stale) await _store.DeleteAsync(k, ct);
        if (!quarantine.IsEmpty)
        {
            await quarantine.UploadAsync(_store, quarantineKey, ct);
            manifest.QuarantineKey = quarantineKey;
        }
        else if (previousManifest?.QuarantineKey is not null) await _store.DeleteAsync(quarantineKey, ct);

        stagedTicks = System.Diagnostics.Stopwatch.GetTimestamp();

        // 3. Partition membership (a commutative set union), then the manifest beside the data.
        if (membership.Count > 0) await _index.Partitions.AddMembershipAsync(membership, ct);
        await PutManifestAsync(manifestKey, manifest, ct);

        followTicks = System.Diagnostics.Stopwatch.GetTimestamp();
        // 4. Refresh work, read after our own writes committed: the graph's edges from this source and from the consent index.
        var touched = manifest.Partitions.Concat(stale.Select(LakeKeys.PartitionOfStaged)).Distinct().ToList();
        var work = new HashSet<RefreshWork>(await _graph.FollowUpsAsync(new Change(Node.Source(source.Name), touched, true, []), _index, ct));
        var changed = versions.Values.Concat(retracted).Select(v => v.CustomerKey).Distinct().ToHashSet(StringComparer.Ordinal);
        if (changed.Count > 0)
        {
            var customers = CustomersOf(versions.Values.Concat(retracted), changed);
            var serials = retracted.Where(v => v.SerialNumber is not null).Select(v => v.SerialNumber!).Distinct().ToList();
            work.UnionWith(await _graph.FollowUpsAsync(new Change(Node.Consent, [], true, customers, serials), _index, ct));
        }
        if (work.Count > 0) await _queue.EnqueueAsync(work, producer, ct);

        // 5. The ledger (idempotency record) last, conditional on the version it replaces.
        try { await _index.Ledger.PutAsync(new LedgerEntry(key, idem, source.Name, contentHash, manifestKey), previous?.IdempotencyKey, ct); }
        catch (LedgerConflictException)
        {
            if ((await _index.Ledger.GetAsync(key, ct))?.IdempotencyKey != idem) throw;
            // A concurrent delivery of this same version committed first: its writes and ours are the same.
            _log.Info("already_processed", ("key", key), ("idempotencyKey", idem), ("reason", "ingested concurrently"));
            return new IngestResult(key, IngestStatus.AlreadyProcessed, manifest, "ingested concurrently");
        }

        _log.Info("ingested", ("key", key), ("source", source.Name), ("rowsRead", manifest.RowsRead), ("rowsStaged", manifest.RowsStaged),
            ("rowsQuarantined", manifest.RowsQuarantined), ("partitions", manifest.Partitions.Count), ("status", manifest.Status), ("refreshWork", work.Count),
            ("ms", (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds),
            // Where the time went: reading and parsing; writing staged data and customer versions; the index and the rest.
            ("readMs", (long)System.Diagnostics.Stopwatch.GetElapsedTime(started, readTicks).TotalMilliseconds),
            ("stageMs", (long)System.Diagnostics.Stopwatch.GetElapsedTime(readTicks, stagedTicks).TotalMilliseconds),
            ("commitMs", (long)System.Diagnostics.Stopwatch.GetElapsedTime(stagedTicks).TotalMilliseconds),
            ("followUpsMs", (long)System.Diagnostics.Stopwatch.GetElapsedTime(followTicks).TotalMilliseconds));
        return new IngestResult(key, IngestStatus.Ingested, manifest);
    }

    /// <summary>The customer buckets of changed customers: from the versions' canonical email through the join key.</summary>
    private List<ChangedCustomer> CustomersOf(IEnumerable<CustomerVersion> versions, IReadOnlySet<string> keys)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in versions)
        {
            if (!keys.Contains(v.CustomerKey) || result.ContainsKey(v.CustomerKey)) continue;
            result[v.CustomerKey] = Partitioning.EmailBucket(_rules.JoinKey(CanonicalEmail(v.Canonical)));
        }
        return result.Select(p => new ChangedCustomer(p.Key, p.Value)).ToList();
    }

    private static string CanonicalEmail(string canonical)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(canonical);
        return doc.RootElement.GetProperty(Fields.Email.Name).GetString() ?? "";
    }

    /// <returns>Null, or what was wrong when the compressed data failed its integrity check (<see cref="LandingScanner.CompressionDataCorrupt"/>).</returns>
    private async Task<string?> ReadAsync(LandingSource source, Stream body, string objectId, IngestManifest manifest, PartitionSpool spool,
        QuarantineSpool quarantine, Dictionary<(string, string), CustomerVersion> versions, MembershipFacts membership,
        StringPool pool, CancellationToken ct)
    {
        var scanner = new LandingScanner();
        var parser = new RecordParser(source, _options.TimeWindow);
        var chunk = new ColumnBatch(source.Staged, ChunkRows, pool);
        var partitionOfRow = new List<string>(ChunkRows);
        var time = source.Kind switch
        {
            SourceKind.Accelerometer => chunk.Longs(Fields.Timestamp),
            SourceKind.StepTrainer => chunk.Longs(Fields.SensorReadingTime),
            _ => null,
        };
        // Pool code of a user or serial → 1 + its member number (0: not seen yet), negated when the join key normalised the email.
        var memberOf = Array.Empty<int>();
        var users = source.Kind == SourceKind.Accelerometer ? chunk.Strings(Fields.User) : null;
        var serials = source.Kind == SourceKind.StepTrainer ? chunk.Strings(Fields.SerialNumber) : null;
        var emails = source.Kind == SourceKind.Customer ? chunk.Strings(Fields.Email) : null;
        // Readings come in runs of one member and one hour: the partition name and the membership fact are worked out
        // when either changes, not per row.
        long lastHour = long.MinValue;
        string hourName = "";
        int lastMember = int.MinValue;
        string lastPartition = "";
        foreach (var rec in scanner.Scan(body))
        {
            ct.ThrowIfCancellationRequested();
            manifest.RowsRead++;
            if (rec.Error is not null)
            {
                Quarantine(manifest, quarantine, new QuarantineRecord(manifest.LandingKey, rec.LineNumber, rec.ByteOffset, rec.Error, rec.Detail ?? Describe(rec.Error), RawText(rec.Bytes.Span)));
                continue;
            }
            if (!parser.TryParse(rec.Bytes.Span, rec.LineNumber, chunk, out var rejection))
            {
                Quarantine(manifest, quarantine, new QuarantineRecord(manifest.LandingKey, rec.LineNumber, rec.ByteOffset, rejection.Reason, rejection.Detail, RawText(rec.Bytes.Span)));
                continue;
            }
            manifest.RowsStaged++;
            if (parser.Normalizations.Count > 0)
            {
                manifest.RowsNormalized++;
                foreach (var n in parser.Normalizations) manifest.Normalized[n] = manifest.Normalized.GetValueOrDefault(n) + 1;
            }
            if (parser.UnknownFields.Count > 0) foreach (var f in parser.UnknownFields) manifest.SchemaDriftFields.Add(f);
            var row = chunk.Count - 1;
            string partition;
            if (emails is not null)
            {
                var v = CustomerRecords.ToVersion(chunk, row, objectId, _rules, _index.Keys);
                versions.TryAdd((v.CustomerKey, v.VersionId), v);
                var email = emails[row]!;
                var joinKey = _rules.JoinKey(email);
                if (!string.Equals(joinKey, email, StringComparison.Ordinal)) manifest.EmailsNormalized++;
                partition = Partitioning.EmailBucket(joinKey);
            }
            else
            {
                var t = time![row];
                var hour = Math.DivRem(t, 3_600_000L, out var rem) - (rem < 0 ? 1 : 0);
                if (hour != lastHour) { lastHour = hour; hourName = Partitioning.ReadingHour(t); }
                partition = hourName;
                var code = (users ?? serials!).CodeAt(row);
                if (code >= memberOf.Length) Array.Resize(ref memberOf, Math.Max(code + 1, memberOf.Length * 2));
                var member = memberOf[code];
                if (member == 0)
                {
                    var name = users is null ? pool[code] : _rules.JoinKey(pool[code]);
                    member = 1 + membership.Member(name);
                    if (!string.Equals(name, pool[code], StringComparison.Ordinal)) member = -member;
                    memberOf[code] = member;
                }
                if (member < 0) manifest.EmailsNormalized++;
                if (code != lastMember || !ReferenceEquals(partition, lastPartition)) membership.Add(Math.Abs(member) - 1, partition);
                lastMember = code;
                lastPartition = partition;
            }
            partitionOfRow.Add(partition);
            if (chunk.Count >= ChunkRows) await FlushAsync(chunk, partitionOfRow, spool, ct);
        }
        await FlushAsync(chunk, partitionOfRow, spool, ct);
        manifest.Gzip = scanner.WasGzip;
        manifest.Bom = scanner.HadBom;
        if (scanner.WasUtf16) manifest.Warnings.Add("UTF-16 text transcoded to UTF-8");
        if (scanner.StrayByteOrderMarks > 0)
            manifest.Warnings.Add($"{scanner.StrayByteOrderMarks} byte order mark(s) after the start of the object skipped (files saved with one and concatenated)");
        if (scanner.UnwrappedArray)
        {
            manifest.UnwrappedArray = true;
            manifest.ArrayElements = scanner.ArrayElements;
            manifest.ArrayNotClosed = scanner.ArrayNotClosed;
            manifest.Warnings.Add($"top-level JSON array unwrapped: its {scanner.ArrayElements} element(s) read as records");
            if (scanner.ArrayNotClosed) manifest.Warnings.Add("the top-level JSON array has no closing bracket: the object was cut short");
        }
        if (scanner.CompressionCorrupt) manifest.Warnings.Add("corrupt or truncated gzip data: object partially ingested");
        return scanner.CompressionDataCorrupt ? scanner.CompressionDetail : null;
    }

    /// <summary>Moves a parsed chunk's rows to their partitions' spools, one gather per partition.</summary>
    private static async Task FlushAsync(ColumnBatch chunk, List<string> partitionOfRow, PartitionSpool spool, CancellationToken ct)
    {
        if (chunk.Count == 0) return;
        // Most chunks hold one or two partitions: a short list beats a dictionary per row.
        var names = new List<string>(4);
        var rowsOf = new List<List<int>>(4);
        var last = -1;
        for (var i = 0; i < partitionOfRow.Count; i++)
        {
            var p = partitionOfRow[i];
            if (last < 0 || !ReferenceEquals(names[last], p))
            {
                last = names.FindIndex(n => n == p);
                if (last < 0) { names.Add(p); rowsOf.Add(new List<int>(partitionOfRow.Count)); last = names.Count - 1; }
            }
            rowsOf[last].Add(i);
        }
        for (var k = 0; k < names.Count; k++) await spool.AddAsync(names[k], chunk, rowsOf[k].ToArray(), ct);
        chunk.Clear();
        partitionOfRow.Clear();
    }

    private static void Quarantine(IngestManifest manifest, QuarantineSpool quarantine, QuarantineRecord record)
    {
        manifest.RowsQuarantined++;
        manifest.QuarantinedByReason[record.Reason] = manifest.QuarantinedByReason.GetValueOrDefault(record.Reason) + 1;
        quarantine.Add(record);
    }

    /// <summary>
    /// Retracts a deleted landing object (S3 <c>ObjectRemoved:*</c>): its staged rows, quarantine records, manifest and
    /// customer versions go, and every partition they fed is recomputed, so the tables stay a function of the set of
    /// landing objects. Whether the object is gone is decided by listing its key (never by a GET or HEAD error);
    /// nothing is done while the key exists again (a newer object replaced it) or when it was never ingested, and the
    /// log says which (one info line).
    /// </summary>
    /// <returns><see cref="IngestStatus.Retracted"/>, or <see cref="IngestStatus.Ignored"/> / <see cref="IngestStatus.Skipped"/> with the reason.</returns>
    public async Task<IngestResult> RetractAsync(string key, CancellationToken ct = default)
    {
        IngestResult Ignored(IngestStatus status, string reason)
        {
            _log.Info(status == IngestStatus.Skipped ? "skipped" : "ignored", ("key", key), ("reason", reason));
            return new IngestResult(key, status, null, reason);
        }
        if (LandingSource.IsFolderMarker(key)) return Ignored(IngestStatus.Ignored, "folder marker");
        var source = LandingSource.ForKey(key);
        if (source is null) return Ignored(IngestStatus.Ignored, "not under a landing prefix");
        var previous = await _index.Ledger.GetAsync(key, ct);
        if (previous is null)
            // A name skipped at ingest was never ingested: say so (an object ingested under other suffix settings has a ledger entry and is retracted).
            return _options.IsDataObjectName(key) ? Ignored(IngestStatus.Ignored, "delete of an object never ingested") : Ignored(IngestStatus.Skipped, SkippedReason);
        if ((await _store.ListAsync(key, ct)).Any(o => o.Key == key)) return Ignored(IngestStatus.Ignored, "stale delete: the object exists again");
        var manifest = await ReadManifestAsync(previous.ManifestKey, ct);
        var producer = $"retract:{key}:{previous.IdempotencyKey}";
        await RetractPreviousAsync(source, manifest, [], [], producer, ct);
        var objectId = Partitioning.ObjectId(key);
        await _store.DeleteAsync(LakeKeys.Quarantine(source.Name, objectId), ct);
        await _store.DeleteAsync(previous.ManifestKey, ct);
        await _index.Ledger.DeleteAsync(key, ct);
        _log.Info("retracted", ("key", key), ("source", source.Name), ("stagedObjects", manifest?.StagedKeys.Count ?? 0));
        return new IngestResult(key, IngestStatus.Retracted, manifest);
    }

    /// <summary>
    /// Records an object none of whose content is staged (too large, or compressed data that failed its check): its one
    /// quarantine record, the previous version's rows retracted, its manifest, then the ledger entry under
    /// <paramref name="ledgerIdempotencyKey"/> (conditional on the version it replaces), in the ingest's order of writes.
    /// </summary>
    private async Task RecordUnstagedAsync(LandingSource source, IngestManifest manifest, string manifestKey, string quarantineKey, string ledgerIdempotencyKey,
        LedgerEntry? previous, IngestManifest? previousManifest, string producer, QuarantineRecord why, CancellationToken ct)
    {
        using (var q = new QuarantineSpool(_options.TempDirectory))
        {
            q.Add(why);
            await q.UploadAsync(_store, quarantineKey, ct);
        }
        manifest.QuarantineKey = quarantineKey;
        await RetractPreviousAsync(source, previousManifest, [], [], producer, ct);
        await PutManifestAsync(manifestKey, manifest, ct);
        await _index.Ledger.PutAsync(new LedgerEntry(manifest.LandingKey, ledgerIdempotencyKey, source.Name, manifest.ContentHash, manifestKey), previous?.IdempotencyKey, ct);
    }

    /// <summary>Removes what a previous version of an object staged (except <paramref name="keep"/>) and enqueues what it fed.</summary>
    private async Task RetractPreviousAsync(LandingSource source, IngestManifest? previous, IReadOnlyCollection<string> keep,
        IReadOnlyCollection<CustomerVersion> keepVersions, string producer, CancellationToken ct)
    {
        if (previous is null) return;
        var retracted = source.Kind == SourceKind.Customer ? await StagedVersionsAsync(previous, ct) : [];
        retracted = retracted.Where(v => !keepVersions.Any(k => k.CustomerKey == v.CustomerKey && k.VersionId == v.VersionId)).ToList();
        if (retracted.Count > 0) await _index.Customers.RemoveVersionsAsync(retracted.Select(v => new CustomerVersionRef(v.CustomerKey, v.VersionId)).ToList(), ct);
        var gone = previous.StagedKeys.Except(keep).ToList();
        foreach (var k in gone) await _store.DeleteAsync(k, ct);
        var work = new HashSet<RefreshWork>(await _graph.FollowUpsAsync(
            new Change(Node.Source(source.Name), gone.Select(LakeKeys.PartitionOfStaged).Distinct().ToList(), true, []), _index, ct));
        if (retracted.Count > 0)
        {
            var keys = retracted.Select(v => v.CustomerKey).ToHashSet(StringComparer.Ordinal);
            var serials = retracted.Where(v => v.SerialNumber is not null).Select(v => v.SerialNumber!).Distinct().ToList();
            work.UnionWith(await _graph.FollowUpsAsync(new Change(Node.Consent, [], true, CustomersOf(retracted, keys), serials), _index, ct));
        }
        if (work.Count > 0) await _queue.EnqueueAsync(work, producer, ct);
    }

    /// <summary>The customer versions held by the staged objects a manifest lists (those still stored).</summary>
    private async Task<List<CustomerVersion>> StagedVersionsAsync(IngestManifest manifest, CancellationToken ct)
    {
        var result = new List<CustomerVersion>();
        foreach (var k in manifest.StagedKeys)
        {
            ColumnBatch batch;
            try { batch = await ParquetTable.ReadObjectAsync(_store, Tables.StagedCustomer, k, null, ct); }
            catch (ObjectNotFoundException) { continue; }
            for (var r = 0; r < batch.Count; r++) result.Add(CustomerRecords.ToVersion(batch, r, manifest.ObjectId, _rules, _index.Keys));
        }
        return result;
    }

    private async Task<IngestManifest?> ReadManifestAsync(string manifestKey, CancellationToken ct)
    {
        try
        {
            await using var s = await _store.OpenReadAsync(manifestKey, ct);
            using var reader = new StreamReader(s, Encoding.UTF8);
            return IngestManifest.FromJson(await reader.ReadToEndAsync(ct));
        }
        catch (ObjectNotFoundException)
        {
            return null; // the ledger names it, so only a crash between its deletion and the ledger's leaves this
        }
    }

    private async Task PutManifestAsync(string manifestKey, IngestManifest manifest, CancellationToken ct) =>
        await _store.PutAsync(manifestKey, new MemoryStream(Encoding.UTF8.GetBytes(manifest.ToJson())), "application/json", ct);

    private static string Describe(string code) => code switch
    {
        ReasonCodes.TruncatedJson => "truncated/invalid JSON: the object ends before its closing brace",
        ReasonCodes.RecordTooLarge => $"record longer than {LandingScanner.MaxRecordBytes} bytes",
        ReasonCodes.CorruptCompression => "corrupt or truncated gzip data: the rest of the object could not be decompressed",
        ReasonCodes.NotAnObject => "a JSON value that is not an object",
        ReasonCodes.TextAfterArray => "text after the closing bracket of the top-level array",
        _ => "invalid JSON: not a JSON object",
    };

    private static string RawText(ReadOnlySpan<byte> bytes)
    {
        var s = bytes.Length > 4096 ? bytes[..4096] : bytes;
        return Encoding.UTF8.GetString(s).TrimEnd('\n', '\r');
    }

    /// <summary>Hashes (SHA-256) what is read through it: the object's content hash, in the same pass as the parse.</summary>
    private sealed class HashingStream(Stream inner) : ForwardOnlyReadStream
    {
        private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public string Hex() => Convert.ToHexStringLower(_sha.GetHashAndReset());
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            _sha.AppendData(buffer, offset, n);
            return n;
        }
        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            _sha.AppendData(buffer[..n]);
            return n;
        }
        protected override void Dispose(bool disposing)
        {
            if (disposing) _sha.Dispose();
            base.Dispose(disposing);
        }
    }
}
