using System.Collections.Concurrent;
using System.Security.Cryptography;
using Stedi.Lakehouse.Logging;
using Stedi.Lakehouse.Parquet;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Rules;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Refine;

/// <summary>
/// Refine: recomputes ONE partition of ONE published table from its inputs as they are now (staged objects, the
/// consent index, upstream partitions), writes it as one Parquet object under a deterministic key (overwrite),
/// registers the partition in the catalog, and enqueues the dependants when the output changed. Each recompute is a
/// pure function of current state, recomputes of one partition are serialised by the queue, and every state change
/// enqueues the recomputes it affects after it commits, so the last recompute of every partition sees the final
/// state, whatever the order of events (DESIGN.md §4).
/// Dependencies: consent index → accelerometer_trusted → customer_curated → step_trainer_trusted →
/// machine_learning_curated (which also reads accelerometer_trusted); customer_trusted → customer_curated.
/// </summary>
public sealed class Refiner(IObjectStore store, IConsentIndex index, IWorkQueue queue, ICatalog catalog, LakeOptions options, ILakeLog? log = null)
{
    private readonly ConsentPolicy _policy = new(options.Profile);
    private readonly ILakeLog _log = log ?? NullLakeLog.Instance;
    private readonly ConcurrentDictionary<string, Task> _tablesEnsured = new();
    private readonly ConcurrentDictionary<(string, string), bool> _partitionsAdded = new();
    private readonly TableSchema _ml = Tables.MachineLearningCurated(options.Profile);

    /// <summary>Recomputes one partition of one table.</summary>
    /// <exception cref="ArgumentException">Unknown table.</exception>
    public async Task<RefineOutcome> RefineAsync(RefreshWork work, CancellationToken ct = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var previousJson = await index.GetRefineOutcomeAsync(work.Table, work.Partition, ct);
        var previous = previousJson is null ? null : RefineOutcome.FromJson(previousJson);
        var outcome = new RefineOutcome { Table = work.Table, Partition = work.Partition };
        var (table, rows, followUps) = work.Table switch
        {
            "customer_trusted" => await CustomerTrustedAsync(work.Partition, outcome, ct),
            "accelerometer_trusted" => await AccelerometerTrustedAsync(work.Partition, outcome, previous, ct),
            "customer_curated" => await CustomerCuratedAsync(work.Partition, outcome, ct),
            "step_trainer_trusted" => await StepTrainerTrustedAsync(work.Partition, outcome, ct),
            "machine_learning_curated" => await MachineLearningCuratedAsync(work.Partition, outcome, ct),
            _ => throw new ArgumentException($"unknown table '{work.Table}'", nameof(work)),
        };
        var changed = await WriteAsync(table, work.Partition, rows, previous, outcome, ct);
        var next = new HashSet<RefreshWork>(followUps.Always);
        if (changed) next.UnionWith(followUps.OnChange);
        if (next.Count > 0) await queue.EnqueueAsync(next, ct);
        // The outcome is the commit point: written last, so a retry after a crash anywhere above compares against the
        // last completed recompute and enqueues the dependants again.
        await index.PutRefineOutcomeAsync(work.Table, work.Partition, outcome.ToJson(), ct);
        _log.Info("refined", ("table", work.Table), ("partition", work.Partition), ("rows", outcome.RowsOut), ("changed", changed), ("followUps", next.Count),
            ("ms", (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds));
        return outcome;
    }

    private sealed record FollowUps(IReadOnlyCollection<RefreshWork> OnChange, IReadOnlyCollection<RefreshWork> Always);

    private static readonly IReadOnlyCollection<RefreshWork> None = [];

    // ---------------------------------------------------------------- customer_trusted

    private async Task<(TableSchema, List<object?[]>, FollowUps)> CustomerTrustedAsync(string bucket, RefineOutcome outcome, CancellationToken ct)
    {
        var staged = await ReadStagedAsync(Tables.StagedCustomer, bucket, ct);
        var width = Tables.CustomerColumns.Count;
        var output = new List<object?[]>();
        if (_policy.IsStrict)
        {
            foreach (var group in staged.GroupBy(e => _policy.CustomerKeyOf(e.Row)))
            {
                (StagedRow Entry, long? LastUpdate, string Canonical, string? Extra)? best = null;
                foreach (var e in group)
                {
                    var (lastUpdate, canonical, extra) = (_policy.LastUpdateOf(e.Row), _policy.Canonical(e.Row), _policy.ExtraOf(e.Row));
                    var c = best is null ? 1 : ConsentPolicy.CompareRecency(lastUpdate, canonical, best.Value.LastUpdate, best.Value.Canonical);
                    // Equal in all ten fields: the unknown fields decide, so the output never depends on file names.
                    if (c == 0) c = string.CompareOrdinal(extra, best!.Value.Extra);
                    if (c > 0) best = (e, lastUpdate, canonical, extra);
                }
                foreach (var e in group)
                {
                    if (!ReferenceEquals(e, best!.Value.Entry)) outcome.Filter(e.ObjectId, FilterRules.SupersededRecord);
                    else if (!_policy.Consents(e.Row)) outcome.Filter(e.ObjectId, FilterRules.NoResearchConsent);
                    else { outcome.Accept(e.ObjectId); output.Add(e.Row[..width]); }
                }
            }
        }
        else
        {
            foreach (var e in staged)
            {
                if (_policy.Consents(e.Row)) { outcome.Accept(e.ObjectId); output.Add(e.Row[..width]); }
                else outcome.Filter(e.ObjectId, FilterRules.NoResearchConsent);
            }
        }
        return (Tables.CustomerTrusted, output, new FollowUps([new RefreshWork(Tables.CustomerCurated.Name, bucket)], None));
    }

    // ---------------------------------------------------------------- accelerometer_trusted

    private async Task<(TableSchema, List<object?[]>, FollowUps)> AccelerometerTrustedAsync(string hour, RefineOutcome outcome, RefineOutcome? previousOutcome, CancellationToken ct)
    {
        var staged = await ReadStagedAsync(Tables.StagedAccelerometer, hour, ct);
        var userCol = Tables.StagedAccelerometer.IndexOf("user");
        var tsCol = Tables.StagedAccelerometer.IndexOf("timestamp");
        var width = Tables.AccelerometerColumns.Count;
        var keys = staged.Select(e => _policy.CustomerKey((string)e.Row[userCol]!)).ToHashSet(StringComparer.Ordinal);
        var versions = await index.GetCustomerVersionsAsync(keys, ct);
        var consent = _policy.ConsentByKey(versions);
        var output = new List<object?[]>();
        var seen = new HashSet<object?[]>(RowComparer.Instance);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in staged)
        {
            var key = _policy.CustomerKey((string)e.Row[userCol]!);
            if (!consent.TryGetValue(key, out var c) || !c.Consented) { outcome.Filter(e.ObjectId, FilterRules.NoResearchConsent); continue; }
            var data = e.Row[..width];
            if (_policy.IsStrict)
            {
                if ((long)e.Row[tsCol]! < c.ConsentTime) { outcome.Filter(e.ObjectId, FilterRules.BeforeConsent); continue; }
                if (!seen.Add(data)) { outcome.Filter(e.ObjectId, FilterRules.DuplicateReading); continue; }
            }
            outcome.Accept(e.ObjectId);
            for (var i = 0; i < c.Multiplicity; i++) output.Add(data);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        await index.ReplaceTrustedReadingCountsAsync(hour, counts, ct);
        // Customers who gained or lost their trusted readings in this hour, against the last COMPLETED recompute (its
        // outcome is written last), so that a retry after a crash finds the same customers again.
        outcome.TrustedCustomers = counts.Where(c => c.Value > 0).Select(c => c.Key).Order(StringComparer.Ordinal).ToList();
        var before = previousOutcome?.TrustedCustomers ?? [];
        var flipped = before.Except(outcome.TrustedCustomers, StringComparer.Ordinal)
            .Union(outcome.TrustedCustomers.Except(before, StringComparer.Ordinal), StringComparer.Ordinal).ToList();
        var always = new HashSet<RefreshWork>();
        if (flipped.Count > 0)
        {
            // A customer gained or lost their only trusted readings: customer_curated and their Step Trainer partitions change.
            foreach (var k in flipped) always.Add(new RefreshWork(Tables.CustomerCurated.Name, Partitioning.EmailBucket(k)));
            var serials = (await index.GetCustomerVersionsAsync(flipped, ct)).Where(v => v.SerialNumber is not null).Select(v => v.SerialNumber!).Distinct().ToList();
            if (serials.Count > 0)
                foreach (var p in await index.GetPartitionsAsync(LandingSource.StepTrainer.Name, serials, ct))
                    always.Add(new RefreshWork(Tables.StepTrainerTrusted.Name, p));
        }
        return (Tables.AccelerometerTrusted, output, new FollowUps(
            [new RefreshWork(Tables.StepTrainerTrusted.Name, hour), new RefreshWork(_ml.Name, hour)], always));
    }

    // ---------------------------------------------------------------- customer_curated

    private async Task<(TableSchema, List<object?[]>, FollowUps)> CustomerCuratedAsync(string bucket, RefineOutcome outcome, CancellationToken ct)
    {
        var trusted = await ReadTableAsync(Tables.CustomerTrusted, bucket, ct);
        var emailCol = Tables.CustomerTrusted.IndexOf("email");
        var keys = trusted.Select(r => _policy.CustomerKey((string)r[emailCol]!)).ToHashSet(StringComparer.Ordinal);
        var withReadings = await index.GetCustomersWithTrustedReadingsAsync(keys, ct);
        var output = new List<object?[]>();
        var seen = new HashSet<object?[]>(RowComparer.Instance);
        foreach (var r in trusted)
        {
            if (!withReadings.Contains(_policy.CustomerKey((string)r[emailCol]!))) { outcome.Filtered[FilterRules.NoAccelerometerData] = outcome.Filtered.GetValueOrDefault(FilterRules.NoAccelerometerData) + 1; continue; }
            if (seen.Add(r)) output.Add(r); // the course's SELECT DISTINCT
        }
        return (Tables.CustomerCurated, output, new FollowUps(None, None));
    }

    // ---------------------------------------------------------------- step_trainer_trusted

    private async Task<(TableSchema, List<object?[]>, FollowUps)> StepTrainerTrustedAsync(string hour, RefineOutcome outcome, CancellationToken ct)
    {
        var staged = await ReadStagedAsync(Tables.StagedStepTrainer, hour, ct);
        var serialCol = Tables.StagedStepTrainer.IndexOf("serialNumber");
        var timeCol = Tables.StagedStepTrainer.IndexOf("sensorReadingTime");
        var width = Tables.StepTrainerColumns.Count;
        var serials = staged.Select(e => (string)e.Row[serialCol]!).ToHashSet(StringComparer.Ordinal);
        var pairs = await index.GetCustomerKeysBySerialAsync(serials, ct);
        var candidateKeys = pairs.Select(p => p.CustomerKey).ToHashSet(StringComparer.Ordinal);
        var versions = await index.GetCustomerVersionsAsync(candidateKeys, ct);
        var consent = _policy.ConsentByKey(versions);
        var curated = await index.GetCustomersWithTrustedReadingsAsync(consent.Where(c => c.Value.Consented).Select(c => c.Key).ToList(), ct);

        // Owners of each serial: strict, customers whose winning record carries it; rubric, one per consenting record carrying it.
        var owners = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (_policy.IsStrict)
        {
            foreach (var g in versions.GroupBy(v => v.CustomerKey))
            {
                var w = ConsentPolicy.Winner(g);
                if (w.SerialNumber is not null && serials.Contains(w.SerialNumber))
                    (owners.TryGetValue(w.SerialNumber, out var l) ? l : owners[w.SerialNumber] = []).Add(g.Key);
            }
        }
        else
        {
            foreach (var (key, c) in consent)
                if (curated.Contains(key))
                    foreach (var s in c.Serials)
                        (owners.TryGetValue(s, out var l) ? l : owners[s] = []).Add(key);
        }

        HashSet<(string, long)>? accelMoments = null;
        if (_policy.IsStrict && owners.Values.Any(o => o.Count > 1))
        {
            var userCol = Tables.AccelerometerTrusted.IndexOf("user");
            var tsCol = Tables.AccelerometerTrusted.IndexOf("timestamp");
            accelMoments = (await ReadTableAsync(Tables.AccelerometerTrusted, hour, ct))
                .Select(r => (_policy.CustomerKey((string)r[userCol]!), (long)r[tsCol]!)).ToHashSet();
        }

        var output = new List<object?[]>();
        var seen = new HashSet<object?[]>(RowComparer.Instance);
        foreach (var e in staged)
        {
            var serial = (string)e.Row[serialCol]!;
            var t = (long)e.Row[timeCol]!;
            var data = e.Row[..width];
            if (!owners.TryGetValue(serial, out var o) || o.Count == 0) { outcome.Filter(e.ObjectId, FilterRules.SerialNotCurated); continue; }
            if (!_policy.IsStrict)
            {
                outcome.Accept(e.ObjectId);
                for (var i = 0; i < o.Count; i++) output.Add(data);
                continue;
            }
            var eligible = o.Where(k => consent[k].Consented && curated.Contains(k)).ToList();
            if (eligible.Count == 0) { outcome.Filter(e.ObjectId, FilterRules.SerialNotCurated); continue; }
            var afterConsent = eligible.Where(k => t >= consent[k].ConsentTime).ToList();
            if (afterConsent.Count == 0) { outcome.Filter(e.ObjectId, FilterRules.BeforeConsent); continue; }
            var attributed = false;
            if (o.Count > 1 && o.Any(k => !consent[k].Consented || t < consent[k].ConsentTime))
            {
                // A serial shared with a customer who had not consented at that moment: the reading is attributed only to a
                // consenting owner whose phone recorded a trusted reading that millisecond (DESIGN.md §2).
                if (!afterConsent.Any(k => accelMoments!.Contains((k, t)))) { outcome.Filter(e.ObjectId, FilterRules.AmbiguousSerial); continue; }
                attributed = true;
            }
            if (!seen.Add(data)) { outcome.Filter(e.ObjectId, FilterRules.DuplicateReading); continue; }
            if (attributed) outcome.Flagged[FilterRules.AmbiguousSerialAttributed] = outcome.Flagged.GetValueOrDefault(FilterRules.AmbiguousSerialAttributed) + 1;
            outcome.Accept(e.ObjectId);
            output.Add(data);
        }
        return (Tables.StepTrainerTrusted, output, new FollowUps([new RefreshWork(_ml.Name, hour)], None));
    }

    // ---------------------------------------------------------------- machine_learning_curated

    private async Task<(TableSchema, List<object?[]>, FollowUps)> MachineLearningCuratedAsync(string hour, RefineOutcome outcome, CancellationToken ct)
    {
        var steps = await ReadTableAsync(Tables.StepTrainerTrusted, hour, ct);
        var accel = await ReadTableAsync(Tables.AccelerometerTrusted, hour, ct);
        int aUser = Tables.AccelerometerTrusted.IndexOf("user"), aTs = Tables.AccelerometerTrusted.IndexOf("timestamp"),
            aX = Tables.AccelerometerTrusted.IndexOf("x"), aY = Tables.AccelerometerTrusted.IndexOf("y"), aZ = Tables.AccelerometerTrusted.IndexOf("z");
        int sTime = Tables.StepTrainerTrusted.IndexOf("sensorReadingTime"), sSerial = Tables.StepTrainerTrusted.IndexOf("serialNumber"),
            sDist = Tables.StepTrainerTrusted.IndexOf("distanceFromObject");
        var byMoment = accel.GroupBy(r => (long)r[aTs]!).ToDictionary(g => g.Key, g => g.ToList());

        Dictionary<string, string?>? serialOfKey = null;
        if (_policy.IsStrict)
        {
            var keys = accel.Select(r => _policy.CustomerKey((string)r[aUser]!)).ToHashSet(StringComparer.Ordinal);
            serialOfKey = (await index.GetCustomerVersionsAsync(keys, ct)).GroupBy(v => v.CustomerKey)
                .ToDictionary(g => g.Key, g => ConsentPolicy.Winner(g).SerialNumber, StringComparer.Ordinal);
        }
        var output = new List<object?[]>();
        foreach (var s in steps)
        {
            if (!byMoment.TryGetValue((long)s[sTime]!, out var matches)) continue;
            foreach (var a in matches)
            {
                if (serialOfKey is not null)
                {
                    // strict: same millisecond AND same customer — the accelerometer user's device is this Step Trainer.
                    if (!serialOfKey.TryGetValue(_policy.CustomerKey((string)a[aUser]!), out var serial) || serial != (string)s[sSerial]!) continue;
                    output.Add([s[sTime], s[sSerial], s[sDist], a[aTs], a[aX], a[aY], a[aZ]]);
                }
                else output.Add([s[sTime], s[sSerial], s[sDist], a[aTs], a[aX], a[aY], a[aZ], a[aUser]]);
            }
        }
        return (_ml, output, new FollowUps(None, None));
    }

    // ---------------------------------------------------------------- I/O

    /// <summary>A staged row and the landing object it came from.</summary>
    private sealed record StagedRow(string ObjectId, object?[] Row);

    /// <summary>Every staged row of a partition, ordered by (object id, line) so every tie-break is deterministic.</summary>
    private async Task<List<StagedRow>> ReadStagedAsync(TableSchema staged, string partition, CancellationToken ct)
    {
        var lineCol = staged.IndexOf(Tables.LineNumber);
        var result = new List<StagedRow>();
        foreach (var obj in await store.ListAsync(staged.PartitionPrefix(partition), ct))
        {
            if (!obj.Key.EndsWith(".parquet", StringComparison.Ordinal)) continue;
            var objectId = Path.GetFileNameWithoutExtension(obj.Key);
            List<object?[]> rows;
            try { rows = await ReadObjectAsync(staged, obj.Key, ct); }
            catch (ObjectNotFoundException) { continue; } // replaced by a newer version of its landing object meanwhile
            foreach (var r in rows) result.Add(new StagedRow(objectId, r));
        }
        result.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.ObjectId, b.ObjectId);
            return c != 0 ? c : ((long)a.Row[lineCol]!).CompareTo((long)b.Row[lineCol]!);
        });
        return result;
    }

    private async Task<List<object?[]>> ReadTableAsync(TableSchema table, string partition, CancellationToken ct)
    {
        try { return await ReadObjectAsync(table, table.PartitionObjectKey(partition), ct); }
        catch (ObjectNotFoundException) { return []; }
    }

    private Task<List<object?[]>> ReadObjectAsync(TableSchema table, string key, CancellationToken ct) => ParquetTable.ReadObjectAsync(store, table, key, ct);

    /// <summary>Writes the partition (sorted, so equal content gives equal bytes); returns whether it changed.</summary>
    private async Task<bool> WriteAsync(TableSchema table, string partition, List<object?[]> rows, RefineOutcome? previous, RefineOutcome outcome, CancellationToken ct)
    {
        outcome.RowsOut = rows.Count;
        var key = table.PartitionObjectKey(partition);
        if (rows.Count == 0)
        {
            outcome.OutputHash = "empty";
            if (previous is null || previous.OutputHash != "empty") await store.DeleteAsync(key, ct);
            return previous is not null && previous.OutputHash != "empty";
        }
        rows.Sort(RowComparer.Instance);
        using var ms = new MemoryStream();
        await ParquetTable.WriteAsync(table, rows, ms, ct);
        outcome.OutputHash = Convert.ToHexStringLower(SHA256.HashData(ms.GetBuffer().AsSpan(0, (int)ms.Length)));
        await EnsureTableAsync(table, ct);
        if (previous?.OutputHash == outcome.OutputHash && await store.HeadAsync(key, ct) is not null) return false;
        ms.Position = 0;
        await store.PutAsync(key, ms, "application/vnd.apache.parquet", ct);
        if (_partitionsAdded.TryAdd((table.Name, partition), true))
        {
            try { await catalog.AddPartitionAsync(table, partition, ct); }
            catch { _partitionsAdded.TryRemove((table.Name, partition), out _); throw; }
        }
        return true;
    }

    /// <summary>Creates (or updates) the catalog's five tables, so each is queryable even before it has a row.</summary>
    public Task EnsureCatalogAsync(CancellationToken ct = default) =>
        Task.WhenAll(Tables.Published(options.Profile).Select(t => EnsureTableAsync(t, ct)));

    private Task EnsureTableAsync(TableSchema table, CancellationToken ct) =>
        _tablesEnsured.GetOrAdd(table.Name, _ => catalog.EnsureTableAsync(table, ct));
}

/// <summary>Total order and equality over rows (ordinal strings, nulls first), for deterministic output and exact-duplicate detection.</summary>
public sealed class RowComparer : IComparer<object?[]>, IEqualityComparer<object?[]>
{
    /// <summary>The shared instance.</summary>
    public static readonly RowComparer Instance = new();

    /// <inheritdoc />
    public int Compare(object?[]? x, object?[]? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            var c = CompareValue(x[i], y[i]);
            if (c != 0) return c;
        }
        return x.Length.CompareTo(y.Length);
    }

    private static int CompareValue(object? a, object? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        (string s, string t) => string.CompareOrdinal(s, t),
        (long l, long m) => l.CompareTo(m),
        (int l, int m) => l.CompareTo(m),
        (double l, double m) => l.CompareTo(m),
        _ => string.CompareOrdinal(a.GetType().Name, b.GetType().Name),
    };

    /// <inheritdoc />
    public bool Equals(object?[]? x, object?[]? y) => Compare(x, y) == 0;

    /// <inheritdoc />
    public int GetHashCode(object?[] obj)
    {
        var h = new HashCode();
        foreach (var v in obj) h.Add(v);
        return h.ToHashCode();
    }
}
