using System.Text;
using System.Text.Json;
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
    /// <summary>The object no longer exists: reported, not retried.</summary>
    NotFound,
    /// <summary>The object is larger than one invocation may ingest: failed before any write.</summary>
    TooLarge,
}

/// <summary>Result of <see cref="Ingestor.IngestAsync"/>.</summary>
/// <param name="Key">Decoded landing key.</param>
/// <param name="Status">What happened.</param>
/// <param name="Manifest">The ingest manifest when ingested.</param>
/// <param name="Reason">Reason code for NotFound / TooLarge.</param>
public sealed record IngestResult(string Key, IngestStatus Status, IngestManifest? Manifest, string? Reason = null);

/// <summary>
/// Ingest: one landing object in; staged Parquet (one object per partition), quarantine, manifest, consent and
/// partition index updates, and refresh work out (DESIGN.md §4). Streams the object; memory does not grow with its
/// size. Deterministic keys make a retry overwrite rather than duplicate. Order of writes: staged data and index
/// first, refresh work next (read after our own writes, §4 trap b), the ledger (the idempotency record) last.
/// </summary>
public sealed class Ingestor(IObjectStore store, IConsentIndex index, IWorkQueue queue, LakeOptions options, ILakeLog? log = null)
{
    private readonly ConsentPolicy _policy = new(options.Profile);
    private readonly ILakeLog _log = log ?? NullLakeLog.Instance;

    /// <summary>Ingests the current version of a landing object.</summary>
    /// <param name="key">Decoded object key.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="IOException">Store or index failures propagate (the caller retries; output is overwritten, not duplicated).</exception>
    public async Task<IngestResult> IngestAsync(string key, CancellationToken ct = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var source = LandingSource.ForKey(key);
        if (source is null)
        {
            _log.Info("ignored_key", ("key", key));
            return new IngestResult(key, IngestStatus.Ignored, null);
        }
        var head = await store.HeadAsync(key, ct);
        if (head is null)
        {
            _log.Warn("object_not_found", ("key", key));
            return new IngestResult(key, IngestStatus.NotFound, null, ReasonCodes.ObjectNotFound);
        }
        var idem = head.VersionId ?? head.ETag;
        var previous = await index.GetLedgerEntryAsync(key, ct);
        if (previous is not null && previous.IdempotencyKey == idem)
        {
            _log.Info("already_processed", ("key", key), ("idempotencyKey", idem));
            return new IngestResult(key, IngestStatus.AlreadyProcessed, IngestManifest.FromJson(previous.ManifestJson));
        }
        if (head.Size > options.MaxObjectBytes)
        {
            _log.Error("object_too_large", ("key", key), ("bytes", head.Size), ("limitBytes", options.MaxObjectBytes));
            return new IngestResult(key, IngestStatus.TooLarge, null, ReasonCodes.ObjectTooLarge);
        }

        var objectId = Partitioning.ObjectId(key);
        var manifest = new IngestManifest { LandingKey = key, ObjectId = objectId, Source = source.Name, IdempotencyKey = idem, SizeBytes = head.Size };
        var spool = new PartitionSpool(source.Staged, options);
        var quarantineKey = $"quarantine/{source.Name}/{objectId}.jsonl";
        var versions = new Dictionary<(string, string), CustomerVersion>();
        var membership = new HashSet<PartitionMembership>();
        var quarantine = new QuarantineSpool(options.TempDirectory);
        try
        {
            Stream body;
            try { body = await store.OpenReadAsync(key, ct); }
            catch (ObjectNotFoundException)
            {
                return new IngestResult(key, IngestStatus.NotFound, null, ReasonCodes.ObjectNotFound);
            }
            await using (body)
            {
                var scanner = new LandingScanner();
                var parser = new RecordParser(source);
                var timeCol = source.Kind switch
                {
                    SourceKind.Accelerometer => source.Staged.IndexOf("timestamp"),
                    SourceKind.StepTrainer => source.Staged.IndexOf("sensorReadingTime"),
                    _ => -1,
                };
                var memberCol = source.Kind switch
                {
                    SourceKind.Accelerometer => source.Staged.IndexOf("user"),
                    SourceKind.StepTrainer => source.Staged.IndexOf("serialNumber"),
                    _ => -1,
                };
                foreach (var rec in scanner.Scan(body))
                {
                    ct.ThrowIfCancellationRequested();
                    manifest.RowsRead++;
                    ParsedRecord parsed = rec.Error is null
                        ? parser.Parse(rec.Bytes.Span, rec.LineNumber)
                        : new ParsedRecord(null, rec.Error, Describe(rec.Error), [], []);
                    if (parsed.Row is null)
                    {
                        manifest.RowsQuarantined++;
                        manifest.QuarantinedByReason[parsed.Reason!] = manifest.QuarantinedByReason.GetValueOrDefault(parsed.Reason!) + 1;
                        quarantine.Add(new QuarantineRecord(key, rec.LineNumber, rec.ByteOffset, parsed.Reason!, parsed.Detail!, RawText(rec.Bytes.Span)));
                        continue;
                    }
                    manifest.RowsStaged++;
                    if (parsed.Normalizations.Count > 0)
                    {
                        manifest.RowsNormalized++;
                        foreach (var n in parsed.Normalizations) manifest.Normalized[n] = manifest.Normalized.GetValueOrDefault(n) + 1;
                    }
                    foreach (var f in parsed.UnknownFields) manifest.SchemaDriftFields.Add(f);
                    string partition;
                    if (source.Kind == SourceKind.Customer)
                    {
                        var v = _policy.ToVersion(parsed.Row, objectId);
                        versions.TryAdd((v.CustomerKey, v.VersionId), v);
                        partition = Partitioning.EmailBucket(v.CustomerKey);
                    }
                    else
                    {
                        partition = Partitioning.ReadingHour((long)parsed.Row[timeCol]!);
                        var member = (string)parsed.Row[memberCol]!;
                        membership.Add(new PartitionMembership(source.Name, source.Kind == SourceKind.Accelerometer ? _policy.CustomerKey(member) : member, partition));
                    }
                    await spool.AddAsync(partition, parsed.Row, ct);
                }
                manifest.Gzip = scanner.WasGzip;
                manifest.Bom = scanner.HadBom;
                if (scanner.WasUtf16) manifest.Warnings.Add("UTF-16 text transcoded to UTF-8");
                if (scanner.CompressionCorrupt) manifest.Warnings.Add("corrupt or truncated gzip data: object partially ingested");
            }

            if (head.Size == 0 || manifest.RowsRead == 0) { manifest.Status = "empty"; manifest.Warnings.Add("empty object"); }
            else if (manifest.RowsQuarantined > 0) manifest.Status = "partial";
            if (manifest.SchemaDriftFields.Count > 0)
                _log.Warn("schema_drift", ("key", key), ("unknownFields", manifest.SchemaDriftFields.Count)); // names stay in the manifest: a field name can be personal data

            // 1. Customer versions: add the new records, retract those of the object's previous version. Done before the
            // staged objects are overwritten, so a retry after a crash still finds the previous records to retract.
            var retracted = new List<CustomerVersion>();
            if (source.Kind == SourceKind.Customer && previous is not null)
                retracted = (await StagedVersionsAsync(previous, ct)).Where(v => !versions.ContainsKey((v.CustomerKey, v.VersionId))).ToList();
            if (versions.Count > 0) await index.PutCustomerVersionsAsync(versions.Values, ct);
            if (retracted.Count > 0) await index.RemoveCustomerVersionsAsync(retracted, ct);

            // 2. Staged data (deterministic keys: a retry overwrites).
            foreach (var (partition, stagedKey) in await spool.UploadAsync(store, objectId, ct))
            {
                manifest.Partitions.Add(partition);
                manifest.StagedKeys.Add(stagedKey);
            }
            var stale = previous?.StagedKeys.Except(manifest.StagedKeys).ToList() ?? [];
            foreach (var k in stale) await store.DeleteAsync(k, ct);
            if (manifest.RowsQuarantined > 0)
            {
                await quarantine.UploadAsync(store, quarantineKey, ct);
                manifest.QuarantineKey = quarantineKey;
            }
            else if (previous is not null) await store.DeleteAsync(quarantineKey, ct);

            // 3. Partition membership (a commutative set union).
            if (membership.Count > 0) await index.AddMembershipAsync(membership, ct);

            // 4. Manifest beside the data.
            var json = manifest.ToJson();
            await store.PutAsync($"manifests/{source.Name}/{objectId}.json", new MemoryStream(Encoding.UTF8.GetBytes(json)), "application/json", ct);

            // 5. Refresh work, read after our own writes committed.
            var work = new HashSet<RefreshWork>();
            var touched = manifest.Partitions.Concat(stale.Select(PartitionOfStagedKey));
            foreach (var p in touched) work.Add(new RefreshWork(source.FirstTable.Name, p));
            var changedCustomers = versions.Keys.Select(k => k.Item1).Concat(retracted.Select(v => v.CustomerKey)).Distinct().ToList();
            if (changedCustomers.Count > 0)
                foreach (var w in await ConsentChangeWorkAsync(index, changedCustomers, ct)) work.Add(w);
            if (work.Count > 0) await queue.EnqueueAsync(work, ct);

            // 6. The ledger (idempotency record) last: a crash anywhere above leaves the object un-ingested, and the
            // retry overwrites the same deterministic keys and enqueues the same work again.
            await index.PutLedgerEntryAsync(new LedgerEntry(key, idem, source.Name, manifest.StagedKeys, json), ct);

            _log.Info("ingested", ("key", key), ("source", source.Name), ("rowsRead", manifest.RowsRead), ("rowsStaged", manifest.RowsStaged),
                ("rowsQuarantined", manifest.RowsQuarantined), ("partitions", manifest.Partitions.Count), ("status", manifest.Status),
                ("ms", (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds));
            return new IngestResult(key, IngestStatus.Ingested, manifest);
        }
        finally
        {
            spool.Dispose();
            quarantine.Dispose();
        }
    }

    /// <summary>
    /// Retracts a deleted landing object (S3 <c>ObjectRemoved:*</c>): its staged rows, quarantine records, manifest and
    /// customer versions go, and every partition they fed is recomputed, so the tables stay a function of the set of
    /// landing objects. Does nothing while the key still exists (a newer object replaced it) or was never ingested.
    /// </summary>
    /// <returns>True when something was retracted.</returns>
    public async Task<bool> RetractAsync(string key, CancellationToken ct = default)
    {
        var source = LandingSource.ForKey(key);
        if (source is null) return false;
        var previous = await index.GetLedgerEntryAsync(key, ct);
        if (previous is null || await store.HeadAsync(key, ct) is not null) return false;
        var objectId = Partitioning.ObjectId(key);
        var retracted = source.Kind == SourceKind.Customer ? await StagedVersionsAsync(previous, ct) : [];
        if (retracted.Count > 0) await index.RemoveCustomerVersionsAsync(retracted, ct);
        foreach (var k in previous.StagedKeys) await store.DeleteAsync(k, ct);
        await store.DeleteAsync($"quarantine/{source.Name}/{objectId}.jsonl", ct);
        await store.DeleteAsync($"manifests/{source.Name}/{objectId}.json", ct);
        var work = new HashSet<RefreshWork>(previous.StagedKeys.Select(k => new RefreshWork(source.FirstTable.Name, PartitionOfStagedKey(k))));
        var customers = retracted.Select(v => v.CustomerKey).Distinct().ToList();
        if (customers.Count > 0) work.UnionWith(await ConsentChangeWorkAsync(index, customers, ct));
        if (work.Count > 0) await queue.EnqueueAsync(work, ct);
        await index.DeleteLedgerEntryAsync(key, ct);
        _log.Info("retracted", ("key", key), ("source", source.Name), ("stagedObjects", previous.StagedKeys.Count));
        return true;
    }

    /// <summary>The customer versions held by the staged objects a ledger entry lists (those still stored).</summary>
    private async Task<List<CustomerVersion>> StagedVersionsAsync(LedgerEntry entry, CancellationToken ct)
    {
        var objectId = Partitioning.ObjectId(entry.LandingKey);
        var result = new List<CustomerVersion>();
        foreach (var k in entry.StagedKeys)
        {
            try { result.AddRange((await ParquetTable.ReadObjectAsync(store, Tables.StagedCustomer, k, ct)).Select(r => _policy.ToVersion(r, objectId))); }
            catch (ObjectNotFoundException) { }
        }
        return result;
    }

    /// <summary>
    /// The recomputes a change to these customers' records needs: the partitions holding their accelerometer
    /// readings, and those holding Step Trainer readings of any serial any of their versions carries.
    /// </summary>
    public static async Task<IReadOnlyCollection<RefreshWork>> ConsentChangeWorkAsync(IConsentIndex index, IReadOnlyCollection<string> customerKeys, CancellationToken ct)
    {
        var work = new HashSet<RefreshWork>();
        foreach (var p in await index.GetPartitionsAsync(LandingSource.Accelerometer.Name, customerKeys, ct))
        {
            work.Add(new RefreshWork(Tables.AccelerometerTrusted.Name, p));
            // machine_learning_curated matches a reading's user to a Step Trainer through the user's serial, which a new record may change.
            work.Add(new RefreshWork(Tables.MachineLearningCurated(ConsentProfile.Strict).Name, p));
        }
        var serials = (await index.GetCustomerVersionsAsync(customerKeys, ct)).Where(v => v.SerialNumber is not null).Select(v => v.SerialNumber!).Distinct().ToList();
        if (serials.Count > 0)
            foreach (var p in await index.GetPartitionsAsync(LandingSource.StepTrainer.Name, serials, ct))
                work.Add(new RefreshWork(Tables.StepTrainerTrusted.Name, p));
        foreach (var k in customerKeys) work.Add(new RefreshWork(Tables.CustomerTrusted.Name, Partitioning.EmailBucket(k)));
        return work;
    }

    private static string PartitionOfStagedKey(string stagedKey)
    {
        // staged/<source>/<column>=<value>/<objectId>.parquet
        var parts = stagedKey.Split('/');
        return parts[2][(parts[2].IndexOf('=') + 1)..];
    }

    private static string Describe(string code) => code switch
    {
        ReasonCodes.TruncatedJson => "truncated/invalid JSON: the object ends before its closing brace",
        ReasonCodes.RecordTooLarge => $"record longer than {LandingScanner.MaxRecordBytes} bytes",
        ReasonCodes.CorruptCompression => "corrupt or truncated gzip data: the rest of the object could not be decompressed",
        _ => "invalid JSON: not a JSON object",
    };

    private static string RawText(ReadOnlySpan<byte> bytes)
    {
        var s = bytes.Length > 4096 ? bytes[..4096] : bytes;
        return Encoding.UTF8.GetString(s).TrimEnd('\n', '\r');
    }
}
