using System.IO.Compression;
using System.Text;
using Stedi.Functions;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Ingest;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cases.Tests;

/// <summary>
/// Issue 9, "bad input, round two": what producers really send — a top-level JSON array, conflicting keys, times in
/// the wrong unit, objects that are not data, re-sent files, events that need no work, and settings a data engineer
/// changes. Every test writes its own small input, delivers it through the Lambda ingest handler over the embedded
/// adapters (strict unless it says otherwise), and asserts exact counts: rows staged, rows quarantined by reason,
/// table rows, log lines, and that every object reconciles.
/// </summary>
public sealed class BadInputRoundTwoTests
{
    private const long T = 1750000000000;
    private const string Alice = "alice@example.com";
    private const string AliceSerial = "00000000-0000-4000-8000-00000000000a";
    private const string CustomerKey = "customer/landing/customers.json";

    private static string Customer(string email, string serial, long? consent = T - 3_600_000, long lastUpdate = T, string birthDay = "1990-01-01") =>
        $$"""{"customerName":"{{email.Trim()}}","email":"{{email}}","phone":"5550100","birthDay":"{{birthDay}}","serialNumber":"{{serial}}","registrationDate":{{T - 10_000_000}},"lastUpdateDate":{{lastUpdate}},"shareWithResearchAsOfDate":{{(consent is { } c ? c.ToString() : "null")}},"shareWithPublicAsOfDate":null}""";

    private static string Reading(string user, long timestamp, double x = 1.0) =>
        $$"""{"user":"{{user}}","timestamp":{{timestamp}},"x":{{x:0.0}},"y":0.0,"z":-1.0}""";

    private static string Step(string serial, long time, int distance = 230) =>
        $$"""{"sensorReadingTime":{{time}},"serialNumber":"{{serial}}","distanceFromObject":{{distance}}}""";

    private static byte[] Lines(params string[] lines) => Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");

    private static async Task<BatchResponse> PutAndDeliverAsync(CaseRun run, string key, byte[] body)
    {
        await run.PutAsync(key, body);
        return await run.DeliverJsonAsync(await run.P.EventForAsync(key));
    }

    private static async Task<BatchResponse> DeliverAsync(CaseRun run, string key, string eventName = "ObjectCreated:Put", IngestFunction? handler = null)
    {
        var json = S3EventBuilder.Notification(run.P.Lake.Store.Bucket, key, 0, "", eventName);
        var r = await (handler ?? run.Handler).HandleEventAsync(json);
        await run.P.Queue.DrainAsync();
        return r;
    }

    /// <summary>A lake holding alice (consenting from T − 1 h, serial …0a).</summary>
    private static async Task<CaseRun> WithAliceAsync(ConsentProfile profile = ConsentProfile.Strict, LakeOptions? options = null)
    {
        var run = new CaseRun(profile, options);
        var r = await PutAndDeliverAsync(run, CustomerKey, Lines(Customer(Alice, AliceSerial)));
        Assert.Equal("ingested", r.Outcomes.Single().Status);
        return run;
    }

    /// <summary>The log events that name <paramref name="key"/>, as "level event".</summary>
    private static List<string> LogOf(CaseRun run, string key) =>
        run.Log.Events.Where(e => e.Fields.TryGetValue("key", out var k) && (k as string) == key).Select(e => $"{e.Level} {e.Event}").ToList();

    private static string? Field(CaseRun run, string key, string eventName, string field) =>
        run.Log.Events.Single(e => e.Event == eventName && e.Fields.TryGetValue("key", out var k) && (k as string) == key).Fields[field]?.ToString();

    private static async Task AssertBalancedAsync(CaseRun run, LakeOptions? options = null)
    {
        var rec = await run.ReconcileAsync(options);
        Assert.All(rec, o => Assert.True(o.Balanced, $"{o.LandingKey} unbalanced: read {o.RowsRead}, quarantined {o.Quarantined}, accepted {o.Accepted}, filtered {o.Filtered.Values.Sum()}, unaccounted {o.Unaccounted}"));
    }

    private static Dictionary<string, long> ByReason(IEnumerable<QuarantineRecord> q) => q.GroupBy(r => r.Reason).ToDictionary(g => g.Key, g => (long)g.Count());

    // ------------------------------------------------------------------ 1. a top-level JSON array

    [Fact]
    public async Task A_pretty_printed_array_is_unwrapped_each_element_a_record_with_the_line_where_it_starts()
    {
        using var run = await WithAliceAsync();
        const string key = "accelerometer/landing/readings-array.json";
        var text = string.Join("\n",
            "[",                                              // line 1
            "  " + Reading(Alice, T + 1000) + ",",            // line 2
            "  {",                                            // line 3: an element over three lines
            $"    \"user\": \"{Alice}\", \"timestamp\": {T + 2000},",
            "    \"x\": 0.5, \"y\": 0.0, \"z\": 0.0 },",
            "  42,",                                          // line 6: not an object
            "  " + Reading(Alice, T + 3000),                  // line 7
            "]",                                              // line 8
            "trailing text") + "\n";                          // line 9: after the closing bracket
        var r = await PutAndDeliverAsync(run, key, Encoding.UTF8.GetBytes(text));
        Assert.Equal(("ingested", "partial"), (r.Outcomes.Single().Status, r.Outcomes.Single().Reason));

        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((5L, 3L, 2L), (m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.Equal(new Dictionary<string, long> { [ReasonCodes.NotAnObject] = 1, [ReasonCodes.TextAfterArray] = 1 }, m.QuarantinedByReason);
        Assert.True(m.UnwrappedArray);
        Assert.Equal((4L, false), (m.ArrayElements, m.ArrayNotClosed));
        Assert.Contains("top-level JSON array unwrapped: its 4 element(s) read as records", m.Warnings);
        Assert.Contains("\"unwrapped_array\": true", m.ToJson());

        Assert.Equal([2L, 3L, 7L], run.Longs("SELECT line_number FROM read_parquet([" + string.Join(",", run.StagedFiles("accelerometer").Select(f => $"'{f}'")) + "]) ORDER BY 1"));
        Assert.Equal(3, run.StagedRows("accelerometer"));
        var q = run.Quarantine("accelerometer").OrderBy(x => x.LineNumber).ToList();
        Assert.Equal([(6L, ReasonCodes.NotAnObject, "array element 3 is a number, not a JSON object", "42"),
                      (9L, ReasonCodes.TextAfterArray, "text after the closing bracket of the top-level array", "trailing text")],
            q.Select(x => (x.LineNumber, x.Reason, x.Detail, x.Raw)).ToList());
        Assert.Equal(text.IndexOf("42", StringComparison.Ordinal), q[0].ByteOffset);
        Assert.Equal([T + 1000, T + 2000, T + 3000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));

        Assert.Equal(["warn unwrapped_array", "info ingested"], LogOf(run, key));
        Assert.Equal("4", Field(run, key, "unwrapped_array", "elements"));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task A_one_line_array_of_customers_is_unwrapped_and_each_customer_judged()
    {
        using var run = new CaseRun();
        const string key = "customer/landing/customers-array.json";
        var body = "[" + Customer(Alice, AliceSerial) + "," + Customer("bob@example.com", "00000000-0000-4000-8000-00000000000b", consent: null) + "]";
        var r = await PutAndDeliverAsync(run, key, Encoding.UTF8.GetBytes(body));
        Assert.Equal(("ingested", "complete"), (r.Outcomes.Single().Status, r.Outcomes.Single().Reason));
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((2L, 2L, 0L, true), (m.RowsRead, m.RowsStaged, m.RowsQuarantined, m.UnwrappedArray));
        Assert.Equal([Alice], run.Strings("SELECT email FROM customer_trusted"));
        var rec = (await run.ReconcileAsync()).Single();
        Assert.Equal((1L, 1L), (rec.Accepted, rec.Filtered.GetValueOrDefault(FilterRules.NoResearchConsent)));
        Assert.Empty(run.AllQuarantine());
        await AssertBalancedAsync(run);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cut_short_record_in_an_array_or_among_pretty_printed_records_is_quarantined_alone(bool array)
    {
        // Once, the cut record swallowed every record after it and the report still balanced (9,995 readings lost from view).
        using var run = await WithAliceAsync();
        var key = array ? "accelerometer/landing/cut-inside.json" : "accelerometer/landing/cut-inside-pretty.json";
        var readings = Enumerable.Range(1, 200).Select(i => Reading(Alice, T + i * 1000)).ToList();
        var cut = $"{{\"user\":\"{Alice}\",\"timestamp\":17500";
        string text;
        if (array)
            text = "[" + string.Join(",\n", readings.Take(5).Append(cut).Concat(readings.Skip(5))) + "]\n";
        else
        {
            static string Pretty(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
            text = string.Join("\n", readings.Take(5).Select(Pretty).Append(cut.Replace(",", ",\n  ")).Concat(readings.Skip(5).Select(Pretty))) + "\n";
        }
        await PutAndDeliverAsync(run, key, Encoding.UTF8.GetBytes(text));

        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((201L, 200L, 1L), (m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.Equal(new Dictionary<string, long> { [ReasonCodes.TruncatedJson] = 1 }, m.QuarantinedByReason);
        Assert.False(m.ArrayNotClosed);
        Assert.DoesNotContain("the top-level JSON array has no closing bracket: the object was cut short", m.Warnings);
        var q = Assert.Single(run.Quarantine("accelerometer"));
        Assert.Equal(array ? 6L : 36L, q.LineNumber); // pretty: five records of seven lines before it
        Assert.StartsWith($"{{\"user\":\"{Alice}\",", q.Raw);
        Assert.Equal(200, run.Count("accelerometer_trusted"));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task A_truncated_gzipped_array_keeps_the_good_elements_and_quarantines_the_cut_one()
    {
        using var run = await WithAliceAsync();
        const string key = "accelerometer/landing/cut-array.json.gz";
        var text = "[\n" + Reading(Alice, T + 1000) + ",\n" + Reading(Alice, T + 2000) + ",\n{\"user\":\"alice@exa";
        using var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(Encoding.UTF8.GetBytes(text));
        await PutAndDeliverAsync(run, key, gz.ToArray());

        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((3L, 2L, 1L, "partial"), (m.RowsRead, m.RowsStaged, m.RowsQuarantined, m.Status));
        Assert.True(m.Gzip && m.UnwrappedArray && m.ArrayNotClosed);
        Assert.Contains("the top-level JSON array has no closing bracket: the object was cut short", m.Warnings);
        var q = Assert.Single(run.Quarantine("accelerometer"));
        Assert.Equal((ReasonCodes.TruncatedJson, 4L, "{\"user\":\"alice@exa"), (q.Reason, q.LineNumber, q.Raw));
        Assert.Equal(2, run.Count("accelerometer_trusted"));
        Assert.Equal("False", Field(run, key, "unwrapped_array", "closed"));
        await AssertBalancedAsync(run);
    }

    // ------------------------------------------------------------------ 2. conflicting keys

    [Fact]
    public async Task A_key_twice_or_two_spellings_of_one_column_is_quarantined_naming_the_keys_and_a_variant_alone_is_accepted()
    {
        using var run = await WithAliceAsync();
        const string key = "accelerometer/landing/conflicts.json";
        await PutAndDeliverAsync(run, key, Lines(
            Reading(Alice, T + 1000),
            $$"""{"user":"{{Alice}}","timestamp":{{T + 2000}},"timeStamp":{{T + 2001}},"x":1.0,"y":0.0,"z":0.0}""",
            $$"""{"user":"{{Alice}}","timestamp":{{T + 3000}},"x":1.0,"y":0.0,"z":0.0,"x":2.0}""",
            $$"""{"user":"{{Alice}}","timeStamp":{{T + 4000}},"x":1.0,"y":0.0,"z":0.0}"""));
        const string customers = "customer/landing/customer-conflict.json";
        await PutAndDeliverAsync(run, customers, Lines(
            Customer("carol@example.org", "00000000-0000-4000-8000-00000000000c").Replace("\"phone\"", "\"Email\":\"carol2@example.org\",\"phone\"")));

        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((4L, 2L, 2L), (m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.Equal(new Dictionary<string, long> { [ReasonCodes.ConflictingKeys] = 2 }, m.QuarantinedByReason);
        Assert.Equal(1, m.Normalized["timeStamp: renamed to timestamp"]);
        Assert.Equal([(2L, "keys 'timestamp' and 'timeStamp' both map to column timestamp"), (3L, "key 'x' appears twice")],
            run.Quarantine("accelerometer").OrderBy(q => q.LineNumber).Select(q => (q.LineNumber, q.Detail)).ToList());
        Assert.Equal([T + 1000, T + 4000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));

        var cq = Assert.Single(run.Quarantine("customer"));
        Assert.Equal((ReasonCodes.ConflictingKeys, "keys 'email' and 'Email' both map to column email", 1L), (cq.Reason, cq.Detail, cq.LineNumber));
        Assert.Equal([Alice], run.Strings("SELECT email FROM customer_trusted"));
        await AssertBalancedAsync(run);
    }

    // ------------------------------------------------------------------ 3. times that cannot be right

    [Fact]
    public async Task Reading_and_update_times_outside_the_window_are_out_of_range_with_a_unit_hint_never_staged_in_1970()
    {
        using var run = await WithAliceAsync();
        var future = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeMilliseconds();
        const string key = "accelerometer/landing/units.json";
        await PutAndDeliverAsync(run, key, Lines(
            Reading(Alice, T + 1000),
            Reading(Alice, 1_750_000_001),            // seconds
            Reading(Alice, 1_750_000_001_000_000),    // microseconds
            Reading(Alice, 0),
            Reading(Alice, -1),
            Reading(Alice, 1_400_000_000_000),        // 2014: milliseconds, but before the window
            Reading(Alice, future)));
        const string steps = "step_trainer/landing/step-units.json";
        await PutAndDeliverAsync(run, steps, Lines(Step(AliceSerial, T + 1000), Step(AliceSerial, 1_750_000_001)));
        const string customers = "customer/landing/customer-units.json";
        await PutAndDeliverAsync(run, customers, Lines(
            Customer("dan@example.net", "00000000-0000-4000-8000-00000000000d", lastUpdate: 1_750_000_000, birthDay: "1899-12-31"),
            Customer("erin@example.com", "00000000-0000-4000-8000-00000000000e", birthDay: "0")));

        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((7L, 1L, 6L), (m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.Equal(new Dictionary<string, long> { [ReasonCodes.OutOfRange] = 6 }, m.QuarantinedByReason);
        var hints = run.Quarantine("accelerometer").OrderBy(q => q.LineNumber).Select(q => q.Detail).ToList();
        Assert.Equal(6, hints.Count);
        Assert.All(hints, d => Assert.StartsWith("timestamp: ", d));
        Assert.All(hints, d => Assert.Contains(" is outside the plausible window 2015-01-01 to ", d));
        Assert.EndsWith("(looks like seconds)", hints[0]);
        Assert.EndsWith("(looks like microseconds)", hints[1]);
        Assert.EndsWith("(not positive)", hints[2]);
        Assert.EndsWith("(not positive)", hints[3]);
        Assert.DoesNotContain("(", hints[4]);
        Assert.DoesNotContain("(", hints[5]);
        Assert.Equal(["2025-06-15-15"], m.Partitions);
        Assert.DoesNotContain(run.Keys("staged/"), k => k.Contains("=1970-", StringComparison.Ordinal) || k.Contains("=2014-", StringComparison.Ordinal));

        var sm = (await run.ManifestAsync(steps))!;
        Assert.Equal((2L, 1L, 1L), (sm.RowsRead, sm.RowsStaged, sm.RowsQuarantined));
        Assert.EndsWith("(looks like seconds)", Assert.Single(run.Quarantine("step_trainer")).Detail);

        var cm = (await run.ManifestAsync(customers))!;
        Assert.Equal((2L, 1L, 1L), (cm.RowsRead, cm.RowsStaged, cm.RowsQuarantined));
        var cq = Assert.Single(run.Quarantine("customer"));
        Assert.StartsWith("lastUpdateDate: 1750000000 is outside the plausible window", cq.Detail);
        // birthDay is a string: never judged as a time.
        Assert.Equal(["0"], run.Strings("SELECT birthDay FROM customer_trusted WHERE email = 'erin@example.com'"));
        Assert.Equal(1, run.Count("accelerometer_trusted"));
        await AssertBalancedAsync(run);
    }

    private static Dictionary<string, string?> FunctionVariables(params (string Name, string? Value)[] extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["STEDI_LAKE_BUCKET"] = "b", ["STEDI_INDEX_TABLE"] = "t", ["STEDI_REFRESH_QUEUE_URL"] = "q", ["STEDI_CUSTOMER_KEY_SECRET_ID"] = "s",
        };
        foreach (var (n, v) in extra) env[n] = v;
        return env;
    }

    [Fact]
    public async Task The_time_window_and_the_data_suffixes_are_settings_read_from_the_functions_environment()
    {
        var env = FunctionEnvironment.FromEnvironment(FunctionVariables(
            ("STEDI_TIME_WINDOW_MIN", "2010-01-01"), ("STEDI_TIME_WINDOW_MAX", "1893456000000"), ("STEDI_DATA_SUFFIXES", ".json, .TXT ,")).GetValueOrDefault);
        Assert.Equal(new TimeWindow(1_262_304_000_000, 1_893_456_000_000), env.Options.TimeWindow);
        Assert.Equal([".json", ".TXT"], env.Options.DataSuffixes);

        using var run = await WithAliceAsync(options: env.Options);
        const string key = "accelerometer/landing/old-readings.txt";
        var r = await PutAndDeliverAsync(run, key, Lines(Reading(Alice, 1_300_000_000_000), Reading(Alice, 1_200_000_000_000), Reading(Alice, T + 1000)));
        Assert.Equal("ingested", r.Outcomes.Single().Status);
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((3L, 2L, 1L), (m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.StartsWith("timestamp: 1200000000000 is outside the plausible window 2010-01-01 to 2030-01-01", Assert.Single(run.Quarantine("accelerometer")).Detail);
        var skipped = await PutAndDeliverAsync(run, "accelerometer/landing/readings.jsonl", Lines(Reading(Alice, T + 2000)));
        Assert.Equal(("skipped", "unsupported object name"), (skipped.Outcomes.Single().Status, skipped.Outcomes.Single().Reason));
        // Alice consented at T − 1 h: the 2011 reading is before her consent (a rule), not out of range (a producer's bug).
        Assert.Equal([T + 1000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted"));
        var rec = await run.ReconcileAsync(env.Options);
        Assert.Equal(1, rec.Single(o => o.LandingKey == key).Filtered[FilterRules.BeforeConsent]);
        Assert.Equal(ObjectReconciliation.SkippedStatus, rec.Single(o => o.LandingKey == "accelerometer/landing/readings.jsonl").Status);
        await AssertBalancedAsync(run, env.Options); // by the settings ingest used: readings.jsonl is skipped, not "not ingested"
    }

    [Theory]
    [InlineData("STEDI_TIME_WINDOW_MIN", "yesterday", "STEDI_TIME_WINDOW_MIN must be an ISO 8601 date or date-time in UTC (2015-01-01, 2015-01-01T00:00:00Z), epoch milliseconds (1420070400000), or now with an optional offset in days or hours (now+1d, now-12h), not 'yesterday'")]
    [InlineData("STEDI_TIME_WINDOW_MAX", "2014-01-01", "STEDI_TIME_WINDOW_MIN and STEDI_TIME_WINDOW_MAX: the time window is empty: its start (2015-01-01T00:00:00.000Z) is not before its end (2014-01-01T00:00:00.000Z)")]
    [InlineData("STEDI_DATA_SUFFIXES", "json,jsonl", "STEDI_DATA_SUFFIXES must be a comma-separated list of name endings such as .json,.jsonl,.json.gz: 'json' does not start with '.' followed by a name ending (e.g. .json)")]
    [InlineData("STEDI_DATA_SUFFIXES", " , ", "STEDI_DATA_SUFFIXES must be a comma-separated list of name endings such as .json,.jsonl,.json.gz: the list names no ending")]
    public void A_setting_that_does_not_parse_is_a_start_up_error_naming_the_variable_and_the_forms(string name, string value, string message)
    {
        var e = Assert.Throws<InvalidOperationException>(() => FunctionEnvironment.FromEnvironment(FunctionVariables((name, value)).GetValueOrDefault));
        Assert.StartsWith("function configuration is invalid: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    // ------------------------------------------------------------------ 4. objects that are not data

    [Fact]
    public async Task Objects_that_are_not_data_are_skipped_before_any_read_logged_once_and_listed_by_the_reconciliation()
    {
        using var run = await WithAliceAsync();
        var store = run.UseCountingStore();
        string[] notData = ["customer/landing/.DS_Store", "customer/landing/_SUCCESS", "accelerometer/landing/README.txt",
            "accelerometer/landing/part-0000.json.crc", "step_trainer/landing/.part-0000.json.crc", "step_trainer/landing/data.csv"];
        const string marker = "accelerometer/landing/old_$folder$";
        foreach (var k in notData.Append(marker)) await run.PutAsync(k, Lines(Reading(Alice, T + 1000)));
        var before = (store.Heads, store.Reads, store.Puts, store.Deletes);
        foreach (var k in notData)
        {
            var r = await DeliverAsync(run, k);
            Assert.Equal(("skipped", "unsupported object name"), (r.Outcomes.Single().Status, r.Outcomes.Single().Reason));
            Assert.Empty(r.BatchItemFailures);
            Assert.Equal(["info skipped"], LogOf(run, k));
            Assert.Equal("unsupported object name", Field(run, k, "skipped", "reason"));
        }
        var m = await DeliverAsync(run, marker);
        Assert.Equal(("ignored", "folder marker"), (m.Outcomes.Single().Status, m.Outcomes.Single().Reason));
        Assert.Equal((0, 0, 0, 0), (store.Heads - before.Heads, store.Reads - before.Reads, store.Puts - before.Puts, store.Deletes - before.Deletes));

        // Upper-case and gzip forms of the data suffixes are data.
        const string upper = "accelerometer/landing/READINGS.NDJSON";
        Assert.Equal("ingested", (await PutAndDeliverAsync(run, upper, Lines(Reading(Alice, T + 1000)))).Outcomes.Single().Status);

        Assert.Equal([upper, CustomerKey], (await run.P.Lake.Index.Ledger.ListAsync()).Select(e => e.LandingKey).Order(StringComparer.Ordinal).ToArray());
        Assert.Empty(run.AllQuarantine());
        var rec = await run.ReconcileAsync();
        Assert.Equal(9, rec.Count);
        var skipped = rec.Where(o => o.Status == ObjectReconciliation.SkippedStatus).ToList();
        Assert.Equal(notData.Append(marker).Order(StringComparer.Ordinal), skipped.Select(o => o.LandingKey));
        Assert.All(skipped, o => Assert.Equal((0L, 0L, 0L, 0L, true), (o.RowsRead, o.Accepted, o.Quarantined, o.Unaccounted, o.Balanced)));
        Assert.Equal("folder marker", skipped.Single(o => o.LandingKey == marker).SkippedReason);
        Assert.Equal(6, skipped.Count(o => o.SkippedReason == "unsupported object name"));
        Assert.Equal(["accelerometer", "accelerometer", "accelerometer", "customer", "customer", "step_trainer", "step_trainer"], skipped.Select(o => o.Source).Order());
        await AssertBalancedAsync(run);

        // A delete of a skipped name is skipped too, with one line.
        await run.P.Lake.Store.DeleteAsync("customer/landing/_SUCCESS");
        var d = await DeliverAsync(run, "customer/landing/_SUCCESS", "ObjectRemoved:Delete");
        Assert.Equal(("skipped", "unsupported object name"), (d.Outcomes.Single().Status, d.Outcomes.Single().Reason));
        Assert.Equal(["info skipped", "info skipped"], LogOf(run, "customer/landing/_SUCCESS"));
    }

    // ------------------------------------------------------------------ 5. published emails are the normalised ones

    [Fact]
    public async Task Strict_publishes_the_trimmed_lower_cased_email_the_join_used_and_counts_the_normalisations()
    {
        using var run = new CaseRun();
        await PutAndDeliverAsync(run, CustomerKey, Lines(Customer(" Alice@Example.COM ", AliceSerial), Customer("bob@example.com", "00000000-0000-4000-8000-00000000000b")));
        const string key = "accelerometer/landing/mixed-case.json";
        await PutAndDeliverAsync(run, key, Lines(Reading("ALICE@example.com", T + 1000), Reading("alice@example.com", T + 2000), Reading("Bob@Example.com ", T + 3000)));

        Assert.Equal([Alice, "bob@example.com"], run.Strings("SELECT email FROM customer_trusted ORDER BY 1"));
        Assert.Equal([Alice, "bob@example.com"], run.Strings("SELECT email FROM customer_curated ORDER BY 1"));
        Assert.Equal([Alice, Alice, "bob@example.com"], run.Strings("SELECT \"user\" FROM accelerometer_trusted ORDER BY \"timestamp\""));
        // An analyst's own join in Athena finds what the pipeline found.
        Assert.Equal(3, run.Count("accelerometer_trusted a JOIN customer_trusted c ON a.\"user\" = c.email"));
        Assert.Equal((2L, 1L), ((await run.ManifestAsync(key))!.EmailsNormalized, (await run.ManifestAsync(CustomerKey))!.EmailsNormalized));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task Rubric_publishes_emails_as_written_and_counts_no_normalisation()
    {
        using var run = new CaseRun(ConsentProfile.Rubric);
        await PutAndDeliverAsync(run, CustomerKey, Lines(Customer(" Alice@Example.COM ", AliceSerial)));
        Assert.Equal([" Alice@Example.COM "], run.Strings("SELECT email FROM customer_trusted"));
        Assert.Equal(0, (await run.ManifestAsync(CustomerKey))!.EmailsNormalized);
    }

    // ------------------------------------------------------------------ 6. the same content under another key

    private const string Original = "accelerometer/landing/batch-1.json";
    private const string Copy = "accelerometer/landing/resent/batch-1-copy.json";

    private static async Task<CaseRun> WithCopiesAsync(ConsentProfile profile = ConsentProfile.Strict)
    {
        var run = await WithAliceAsync(profile);
        var body = Lines(Reading(Alice, T + 1000), Reading(Alice, T + 2000), Reading(Alice, T + 3000), "not json");
        await PutAndDeliverAsync(run, Original, body);
        await PutAndDeliverAsync(run, Copy, body);
        return run;
    }

    [Fact]
    public async Task A_copied_file_is_recognised_by_its_content_and_its_rows_collapse_as_duplicate_readings_in_strict()
    {
        using var run = await WithCopiesAsync();
        var original = (await run.ManifestAsync(Original))!;
        var copy = (await run.ManifestAsync(Copy))!;
        Assert.Equal(original.ContentHash, copy.ContentHash);
        Assert.Equal(64, copy.ContentHash.Length);
        Assert.Equal((null, Original), (original.DuplicateOf, copy.DuplicateOf));
        Assert.Equal(["info duplicate_content", "info ingested"], LogOf(run, Copy));
        Assert.Equal(Original, Field(run, Copy, "duplicate_content", "original"));
        Assert.Equal(["info ingested"], LogOf(run, Original));

        // The tables are unchanged: the copy's readings are exact duplicates.
        Assert.Equal([T + 1000, T + 2000, T + 3000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        var rec = await run.ReconcileAsync();
        var o = rec.Single(x => x.LandingKey == Original);
        var c = rec.Single(x => x.LandingKey == Copy);
        Assert.Equal((null, Original), (o.DuplicateOf, c.DuplicateOf));
        Assert.Equal((4L, 1L, 4L, 1L), (o.RowsRead, o.Quarantined, c.RowsRead, c.Quarantined));
        // Where the rows went: each reading accepted once, its copy filtered as a duplicate reading.
        Assert.Equal(3, o.Accepted + c.Accepted);
        Assert.Equal(3, o.Filtered.GetValueOrDefault(FilterRules.DuplicateReading) + c.Filtered.GetValueOrDefault(FilterRules.DuplicateReading));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task Rubric_accepts_a_copied_files_rows_and_still_says_whose_copy_it_is()
    {
        using var run = await WithCopiesAsync(ConsentProfile.Rubric);
        var c = (await run.ReconcileAsync()).Single(x => x.LandingKey == Copy);
        Assert.Equal((Original, 3L), (c.DuplicateOf, c.Accepted));
        Assert.Equal(6, run.Count("accelerometer_trusted"));
        await AssertBalancedAsync(run);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Deleting_either_copy_leaves_the_rows_in_place_while_the_other_remains(bool deleteOriginalFirst)
    {
        using var run = await WithCopiesAsync();
        var (first, second) = deleteOriginalFirst ? (Original, Copy) : (Copy, Original);

        await run.P.Lake.Store.DeleteAsync(first);
        Assert.Equal("retracted", (await DeliverAsync(run, first, "ObjectRemoved:Delete")).Outcomes.Single().Status);
        Assert.Equal([T + 1000, T + 2000, T + 3000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        Assert.Equal([Alice], run.Strings("SELECT email FROM customer_curated"));
        var left = (await run.ReconcileAsync()).Single(x => x.Source == "accelerometer");
        Assert.Equal((second, null, 3L, 0L, 1L), (left.LandingKey, left.DuplicateOf, left.Accepted, left.Filtered.GetValueOrDefault(FilterRules.DuplicateReading), left.Quarantined));
        Assert.Equal(["info retracted"], LogOf(run, first).Skip(deleteOriginalFirst ? 1 : 2).ToList());
        Assert.Single(run.Quarantine("accelerometer").Select(q => q.SourceKey).Distinct());
        await AssertBalancedAsync(run);

        await run.P.Lake.Store.DeleteAsync(second);
        Assert.Equal("retracted", (await DeliverAsync(run, second, "ObjectRemoved:Delete")).Outcomes.Single().Status);
        Assert.Equal(0, run.Count("accelerometer_trusted"));
        Assert.Equal(0, run.Count("customer_curated"));
        Assert.Empty(run.Quarantine("accelerometer"));
    }

    [Fact]
    public async Task Copies_ingested_at_the_same_time_still_name_one_original()
    {
        using var run = await WithAliceAsync();
        var body = Lines(Reading(Alice, T + 1000), Reading(Alice, T + 2000));
        await run.PutAsync(Original, body);
        await run.PutAsync(Copy, body);
        var events = await Task.WhenAll(run.P.EventForAsync(Original), run.P.EventForAsync(Copy));
        var responses = await Task.WhenAll(events.Select(e => Task.Run(() => run.Handler.HandleEventAsync(e))));
        await run.P.Queue.DrainAsync();
        Assert.All(responses, r => Assert.Equal("ingested", r.Outcomes.Single().Status));
        var rec = (await run.ReconcileAsync()).Where(o => o.Source == "accelerometer").ToList();
        // Whichever saw the other (or neither): exactly one is the original and the other names it.
        Assert.Single(rec, o => o.DuplicateOf is null);
        var copy = Assert.Single(rec, o => o.DuplicateOf is not null);
        Assert.Equal(rec.Single(o => o.DuplicateOf is null).LandingKey, copy.DuplicateOf);
        Assert.Equal(2, run.Count("accelerometer_trusted"));
        Assert.Equal((2L, 2L), (rec.Sum(o => o.Accepted), rec.Sum(o => o.Filtered.GetValueOrDefault(FilterRules.DuplicateReading))));
        await AssertBalancedAsync(run);
    }

    // ------------------------------------------------------------------ 7. every ignore path logs one line

    public static TheoryData<string, string, string, string, string> IgnorePaths => new()
    {
        // key, event name, expected outcome status, expected log event, the reason it gives
        { "customer/landing/", "ObjectCreated:Put", "ignored", "ignored", "folder marker" },
        { "customer/landing_$folder$", "ObjectCreated:Put", "ignored", "ignored", "folder marker" },
        { "customer/landing/2024_$folder$", "ObjectCreated:Put", "ignored", "ignored", "folder marker" },
        { "customer/landing/sub/", "ObjectRemoved:Delete", "ignored", "ignored", "folder marker" },
        { "customer/landing/Thumbs.db", "ObjectCreated:Put", "skipped", "skipped", "unsupported object name" },
        { "trusted/customer_trusted/part-00000.parquet", "ObjectCreated:Put", "ignored", "ignored", "not under a landing prefix" },
        { "accelerometer/landing/other-source.json", "ObjectCreated:Put", "ignored", "ignored", "key outside this function's landing prefix (customer/landing/)" },
        { CustomerKey, "ObjectTagging:Put", "ignored", "ignored", "event ObjectTagging:Put is neither ObjectCreated:* nor ObjectRemoved:*" },
        { CustomerKey, "ObjectRestore:Completed", "ignored", "ignored", "event ObjectRestore:Completed is neither ObjectCreated:* nor ObjectRemoved:*" },
        { CustomerKey, "ObjectRemoved:Delete", "ignored", "ignored", "stale delete: the object exists again" },
        { CustomerKey, "ObjectCreated:Put", "already_processed", "already_processed", "this version was ingested before" },
        { "customer/landing/never-ingested.json", "ObjectRemoved:Delete", "ignored", "ignored", "delete of an object never ingested" },
    };

    [Theory]
    [MemberData(nameof(IgnorePaths))]
    public async Task Every_event_acknowledged_without_work_writes_one_info_line_saying_which_and_why(string key, string eventName, string status, string logEvent, string reason)
    {
        using var run = await WithAliceAsync();
        var handler = new IngestFunction(run.Ingestor, run.Log, LandingSource.Customer); // a function serving customer/landing/
        var logBefore = run.Log.Events.Count;
        var r = await DeliverAsync(run, key, eventName, handler);
        Assert.Equal(status, r.Outcomes.Single().Status);
        Assert.Empty(r.BatchItemFailures);
        var lines = run.Log.Events.Skip(logBefore).ToList();
        var line = Assert.Single(lines);
        Assert.Equal(("info", logEvent, key, reason), (line.Level, line.Event, line.Fields["key"] as string, line.Fields["reason"] as string));
        Assert.Equal([Alice], run.Strings("SELECT email FROM customer_trusted"));
    }
}
