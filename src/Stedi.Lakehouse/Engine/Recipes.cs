using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Rules;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Engine;

/// <summary>The five recipes of the STEDI tables, by name.</summary>
public static class Recipes
{
    /// <summary>The recipe of every published table of a profile.</summary>
    public static IReadOnlyDictionary<string, ITableRecipe> For(ConsentProfile profile) => new Dictionary<string, ITableRecipe>(StringComparer.Ordinal)
    {
        [Tables.CustomerTrusted.Name] = new CustomerTrustedRecipe(),
        [Tables.AccelerometerTrusted.Name] = new AccelerometerTrustedRecipe(),
        [Tables.CustomerCurated.Name] = new CustomerCuratedRecipe(),
        [Tables.StepTrainerTrusted.Name] = new StepTrainerTrustedRecipe(),
        [Tables.MachineLearningCuratedName] = new MachineLearningCuratedRecipe(Tables.MachineLearningCurated(profile)),
    };

    /// <summary>Copies the named columns of a source row into a target row (same names, same types).</summary>
    internal static void Copy(ColumnBatch target, int targetRow, ColumnBatch source, int sourceRow, params Column[] columns)
    {
        foreach (var c in columns)
        {
            switch (target[target.Schema.Ordinal(c)])
            {
                case StringVector t: t.Set(targetRow, ((StringVector)source[source.Schema.Ordinal(c)])[sourceRow]); break;
                case LongVector t: t.Set(targetRow, ((LongVector)source[source.Schema.Ordinal(c)]).ValueOrNull(sourceRow)); break;
                case DoubleVector t: t.Set(targetRow, ((DoubleVector)source[source.Schema.Ordinal(c)])[sourceRow]); break;
            }
        }
    }
}

/// <summary>customer_trusted (per customer bucket): each customer's published record(s) — strict the latest consenting one, rubric every consenting record — with the email in its join form.</summary>
internal sealed class CustomerTrustedRecipe : ITableRecipe
{
    public TableSchema Output => Tables.CustomerTrusted;
    public bool TalliesObjects => true;
    public (TableSchema Staged, Column Key)? SliceBy => null;

    public async Task<(ColumnBatch Rows, int[] Order)> ComputeAsync(RefineContext ctx)
    {
        var staged = await ctx.StagedAsync(Tables.StagedCustomer);
        var rows = staged.Rows;
        var emails = rows.Strings(Fields.Email);
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var r = 0; r < rows.Count; r++)
        {
            var key = ctx.Rules.JoinKey(emails[r]!);
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = [];
            g.Add(r);
        }
        var output = new OutputBuilder(Output, ctx.Pool);
        var published = output.Rows.Strings(Fields.Email);
        foreach (var (joinKey, group) in groups)
            ctx.Rules.SelectCustomerRecords(rows, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(group),
                r => published.Set(output.Add(rows, r, staged.ObjectOf(r)), joinKey),
                (r, rule) => ctx.Detail.Filter(staged.ObjectOf(r), rule));
        return output.Finish(ctx.Detail, collapseDuplicates: false);
    }
}

/// <summary>accelerometer_trusted (per reading hour): readings of consenting customers (strict: from the consent time, duplicates collapsed), user in its join form.</summary>
internal sealed class AccelerometerTrustedRecipe : ITableRecipe
{
    public TableSchema Output => Tables.AccelerometerTrusted;
    public bool TalliesObjects => true;
    public (TableSchema Staged, Column Key)? SliceBy => (Tables.StagedAccelerometer, Fields.User);

    public async Task<(ColumnBatch Rows, int[] Order)> ComputeAsync(RefineContext ctx)
    {
        var staged = await ctx.StagedAsync(Tables.StagedAccelerometer);
        var rows = staged.Rows;
        var users = rows.Strings(Fields.User);
        var times = rows.Longs(Fields.Timestamp);
        // Per distinct user (a pool code): its join key (as a code of the same pool) and customer key, computed once;
        // then everything per row is an array look-up.
        var pool = rows.Pool;
        var seen = new bool[pool.Count];
        var keyOf = new string[pool.Count];
        var joinCodeOf = new int[pool.Count];
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var r = 0; r < rows.Count; r++)
        {
            var code = users.CodeAt(r);
            if (seen[code]) continue;
            seen[code] = true;
            var user = pool[code];
            keyOf[code] = ctx.CustomerKey(user);
            keys.Add(keyOf[code]);
        }
        for (var c = 0; c < seen.Length; c++) if (seen[c]) joinCodeOf[c] = ctx.Pool.Intern(ctx.Rules.JoinKey(pool[c]));
        var views = await ctx.ViewsAsync(keys);
        var viewOf = new CustomerView[pool.Count];
        for (var c = 0; c < seen.Length; c++) if (seen[c]) viewOf[c] = views[keyOf[c]];
        var output = new OutputBuilder(Output, ctx.Pool);
        var published = output.Rows.Strings(Fields.User);
        for (var r = 0; r < rows.Count; r++)
        {
            var code = users.CodeAt(r);
            var view = viewOf[code];
            if (!view.Consented) { ctx.Detail.Filter(staged.ObjectOf(r), FilterRules.NoResearchConsent); continue; }
            if (ctx.Rules.BeforeConsent(times[r], view)) { ctx.Detail.Filter(staged.ObjectOf(r), FilterRules.BeforeConsent); continue; }
            var first = output.Add(rows, r, staged.ObjectOf(r), view.Multiplicity);
            for (var i = 0; i < view.Multiplicity; i++) published.SetCode(first + i, joinCodeOf[code]);
        }
        var result = output.Finish(ctx.Detail, ctx.Rules.CollapsesDuplicates);
        // Who holds trusted readings here (after duplicates collapsed): customer_curated and the customers' Step Trainer hours follow its changes.
        var outUsers = result.Rows.Strings(Fields.User);
        var keyOfCode = new Dictionary<int, string>();
        foreach (var r in result.Order)
        {
            var code = outUsers.CodeAt(r);
            if (!keyOfCode.TryGetValue(code, out var key))
            {
                var joinKey = outUsers.Pool[code];
                keyOfCode[code] = key = ctx.CustomerKey(joinKey);
                ctx.Detail.TrustedCustomers.TryAdd(key, Partitioning.EmailBucket(joinKey));
            }
            ctx.TrustedCounts[key] = ctx.TrustedCounts.GetValueOrDefault(key) + 1;
        }
        return result;
    }

    public bool KeepsSideState => true;

    public async Task<IReadOnlyCollection<ChangedCustomer>> CommitSideStateAsync(RefineContext ctx, RefineDetail? previous)
    {
        await ctx.Index.Partitions.ReplaceTrustedCountsAsync(ctx.Partition, ctx.TrustedCounts, ctx.CancellationToken);
        var before = previous?.TrustedCustomers ?? [];
        var now = ctx.Detail.TrustedCustomers;
        var flips = new List<ChangedCustomer>();
        foreach (var (k, b) in before) if (!now.ContainsKey(k)) flips.Add(new ChangedCustomer(k, b));
        foreach (var (k, b) in now) if (!before.ContainsKey(k)) flips.Add(new ChangedCustomer(k, b));
        return flips;
    }
}

/// <summary>customer_curated (per customer bucket): trusted customers with at least one trusted accelerometer reading (SELECT DISTINCT).</summary>
internal sealed class CustomerCuratedRecipe : ITableRecipe
{
    public TableSchema Output => Tables.CustomerCurated;
    public bool TalliesObjects => false;
    public (TableSchema Staged, Column Key)? SliceBy => null;

    public async Task<(ColumnBatch Rows, int[] Order)> ComputeAsync(RefineContext ctx)
    {
        var trusted = await ctx.PublishedAsync(Tables.CustomerTrusted);
        var emails = trusted.Strings(Fields.Email);
        var keys = new string[trusted.Count];
        for (var r = 0; r < trusted.Count; r++) keys[r] = ctx.CustomerKey(emails[r]!);
        var withReadings = await ctx.Index.Partitions.GetCustomersWithTrustedReadingsAsync(keys.Distinct().ToList(), ctx.CancellationToken);
        var output = new OutputBuilder(Output, ctx.Pool);
        for (var r = 0; r < trusted.Count; r++)
        {
            if (!withReadings.Contains(keys[r])) { ctx.Detail.Filter(null, FilterRules.NoAccelerometerData); continue; }
            output.Add(trusted, r, null);
        }
        return output.Finish(ctx.Detail, collapseDuplicates: true, duplicateRule: null);
    }
}

/// <summary>step_trainer_trusted (per reading hour): readings of curated customers' devices, under the rules' ownership of shared serials.</summary>
internal sealed class StepTrainerTrustedRecipe : ITableRecipe
{
    public TableSchema Output => Tables.StepTrainerTrusted;
    public bool TalliesObjects => true;
    public (TableSchema Staged, Column Key)? SliceBy => (Tables.StagedStepTrainer, Fields.SerialNumber);

    public async Task<(ColumnBatch Rows, int[] Order)> ComputeAsync(RefineContext ctx)
    {
        var staged = await ctx.StagedAsync(Tables.StagedStepTrainer);
        var rows = staged.Rows;
        var serials = rows.Strings(Fields.SerialNumber);
        var times = rows.Longs(Fields.SensorReadingTime);
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        for (var r = 0; r < rows.Count; r++) distinct.Add(serials[r]!);
        var candidates = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (distinct.Count > 0)
            foreach (var (serial, key) in await ctx.Index.Customers.GetCustomersBySerialAsync(distinct, ctx.CancellationToken))
                (candidates.TryGetValue(serial, out var l) ? l : candidates[serial] = []).Add(key);
        var views = await ctx.ViewsAsync(candidates.Values.SelectMany(k => k).Distinct().ToList());
        var consenting = views.Where(v => v.Value.Consented).Select(v => v.Key).ToList();
        var curated = consenting.Count == 0 ? new HashSet<string>() : await ctx.Index.Partitions.GetCustomersWithTrustedReadingsAsync(consenting, ctx.CancellationToken);
        var ownership = ctx.Rules.Ownership(new StepOwnershipFacts(candidates, views, curated));
        HashSet<(string, long)>? moments = null;
        if (ownership.NeedsMoments)
        {
            var accel = await ctx.PublishedAsync(Tables.AccelerometerTrusted);
            var users = accel.Strings(Fields.User);
            var ts = accel.Longs(Fields.Timestamp);
            moments = [];
            for (var r = 0; r < accel.Count; r++) moments.Add((ctx.CustomerKey(users[r]!), ts[r]));
        }
        var output = new OutputBuilder(Output, ctx.Pool);
        for (var r = 0; r < rows.Count; r++)
        {
            var verdict = ownership.Judge(serials[r]!, times[r], moments);
            if (verdict.Copies == 0) { ctx.Detail.Filter(staged.ObjectOf(r), verdict.Rule!); continue; }
            output.Add(rows, r, staged.ObjectOf(r), verdict.Copies, verdict.Attributed ? FilterRules.AmbiguousSerialAttributed : null);
        }
        return output.Finish(ctx.Detail, ctx.Rules.CollapsesDuplicates);
    }
}

/// <summary>machine_learning_curated (per reading hour): each trusted Step Trainer reading joined with the trusted accelerometer readings of the same millisecond (strict: of the same customer).</summary>
internal sealed class MachineLearningCuratedRecipe(TableSchema output) : ITableRecipe
{
    private static readonly Column[] StepColumns = [Fields.SensorReadingTime, Fields.SerialNumber, Fields.DistanceFromObject];
    private static readonly Column[] AccelerometerColumns = [Fields.Timestamp, Fields.X, Fields.Y, Fields.Z];

    public TableSchema Output => output;
    public bool TalliesObjects => false;
    public (TableSchema Staged, Column Key)? SliceBy => null;

    public async Task<(ColumnBatch Rows, int[] Order)> ComputeAsync(RefineContext ctx)
    {
        var steps = await ctx.PublishedAsync(Tables.StepTrainerTrusted);
        var result = new OutputBuilder(Output, ctx.Pool);
        if (steps.Count == 0) return result.Finish(ctx.Detail, collapseDuplicates: false);
        var accel = await ctx.PublishedAsync(Tables.AccelerometerTrusted);
        var accelTime = accel.Longs(Fields.Timestamp);
        var accelUser = accel.Strings(Fields.User);
        var byMoment = new Dictionary<long, List<int>>();
        for (var r = 0; r < accel.Count; r++)
            (byMoment.TryGetValue(accelTime[r], out var l) ? l : byMoment[accelTime[r]] = []).Add(r);
        Dictionary<string, CustomerView>? views = null;
        if (ctx.Rules.PairsByCustomer)
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            for (var r = 0; r < accel.Count; r++) keys.Add(ctx.CustomerKey(accelUser[r]!));
            views = await ctx.ViewsAsync(keys);
        }
        var stepTime = steps.Longs(Fields.SensorReadingTime);
        var stepSerial = steps.Strings(Fields.SerialNumber);
        var stepDistance = steps.Longs(Fields.DistanceFromObject);
        var (ax, ay, az) = (accel.Doubles(Fields.X), accel.Doubles(Fields.Y), accel.Doubles(Fields.Z));
        var o = result.Rows;
        var (oTime, oSerial, oDistance, oTs) = (o.Longs(Fields.SensorReadingTime), o.Strings(Fields.SerialNumber), o.Longs(Fields.DistanceFromObject), o.Longs(Fields.Timestamp));
        var (ox, oy, oz) = (o.Doubles(Fields.X), o.Doubles(Fields.Y), o.Doubles(Fields.Z));
        var oUser = Output.TryOrdinal(Fields.User, out _) ? o.Strings(Fields.User) : null;
        // The accelerometer reading's customer view, by user code (strict pairs through the customer's serial).
        var viewOfUser = views is null ? null : new CustomerView?[accel.Pool.Count];
        for (var s = 0; s < steps.Count; s++)
        {
            if (!byMoment.TryGetValue(stepTime[s], out var matches)) continue;
            var serial = stepSerial[s]!;
            foreach (var a in matches)
            {
                if (viewOfUser is not null)
                {
                    var code = accelUser.CodeAt(a);
                    var view = viewOfUser[code] ??= views![ctx.CustomerKey(accelUser.Pool[code])];
                    if (!ctx.Rules.Pairs(serial, view)) continue;
                }
                var row = result.AddRow();
                oTime.Set(row, stepTime[s]);
                oSerial.SetCode(row, stepSerial.CodeAt(s));
                oDistance.Set(row, stepDistance[s]);
                oTs.Set(row, accelTime[a]);
                ox.Set(row, ax[a]);
                oy.Set(row, ay[a]);
                oz.Set(row, az[a]);
                oUser?.SetCode(row, accelUser.CodeAt(a));
            }
        }
        return result.Finish(ctx.Detail, collapseDuplicates: false);
    }
}
