using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Refine;

namespace Stedi.Cases.Tests;

/// <summary>
/// One test per folder of <c>shared/cases</c>: the case's landing files are uploaded under their decoded keys, its
/// event files are delivered to the Lambda ingest handler over the embedded adapters (strict profile), and the
/// assertions are those of the case's <c>expect.md</c>.
/// </summary>
public sealed class CaseTests
{
    private const long T = 1750000000000;

    private static void AllIngested(Stedi.Functions.BatchResponse r, int count)
    {
        Assert.Equal(count, r.Outcomes.Count);
        Assert.All(r.Outcomes, o => Assert.Equal("ingested", o.Status));
        Assert.Empty(r.BatchItemFailures);
    }

    private static async Task AssertBalancedAsync(CaseRun run)
    {
        var rec = await run.ReconcileAsync();
        Assert.All(rec, o => Assert.True(o.Balanced, $"{o.LandingKey} unbalanced: read {o.RowsRead}, quarantined {o.Quarantined}, accepted {o.Accepted}, filtered {o.Filtered.Values.Sum()}, unaccounted {o.Unaccounted}"));
    }

    private static long Filtered(IReadOnlyList<ObjectReconciliation> rec, string key, string rule) =>
        rec.Single(o => o.LandingKey == key).Filtered.GetValueOrDefault(rule);

    [Fact]
    public async Task ConsentNullZeroMissing()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("consent-null-zero-missing"), 1);
        Assert.Equal(["erin@example.com"], run.Strings("SELECT email FROM customer_trusted"));
        Assert.Empty(run.AllQuarantine());
        var key = "customer/landing/customer-consent-variants.json";
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal((5, 5, 0), (m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.Equal("complete", m.Status);
        var rec = await run.ReconcileAsync();
        Assert.Equal(4, Filtered(rec, key, FilterRules.NoResearchConsent));
        Assert.Equal(1, rec.Single().Accepted);

        // No reading of alice, bob, carol or dan can reach trusted from this state.
        var lines = string.Join('\n', new[] { "alice@example.com", "bob@example.com", "carol@example.org", "dan@example.net", "erin@example.com" }
            .Select((u, i) => $$"""{"user":"{{u}}","timestamp":{{T + 1000 + i}},"x":1.0,"y":0.0,"z":0.0}"""));
        await run.PutAsync("accelerometer/landing/probe.json", Encoding.UTF8.GetBytes(lines + "\n"));
        AllIngested(await run.DeliverJsonAsync(await run.P.EventForAsync("accelerometer/landing/probe.json")), 1);
        Assert.Equal(["erin@example.com"], run.Strings("SELECT DISTINCT \"user\" FROM accelerometer_trusted"));
        Assert.Equal(["erin@example.com"], run.Strings("SELECT email FROM customer_curated"));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task DuplicateEmailCustomers()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("duplicate-email-customers"), 2);
        // One row per email, latest lastUpdateDate wins; bob's latest has no consent, so only carol is trusted.
        Assert.Equal(["carol@example.org|1750000000000"], run.Strings("SELECT email || '|' || lastUpdateDate FROM customer_trusted"));
        Assert.Equal(2, run.Count("accelerometer_trusted"));
        Assert.Equal(["carol@example.org|1750000001000", "carol@example.org|1750000002000"],
            run.Strings("SELECT \"user\" || '|' || \"timestamp\" FROM accelerometer_trusted ORDER BY \"timestamp\""));
        var rec = await run.ReconcileAsync();
        Assert.Equal(2, Filtered(rec, "customer/landing/customer-dupes.json", FilterRules.SupersededRecord));
        Assert.Equal(1, Filtered(rec, "accelerometer/landing/accelerometer-dupe-users.json", FilterRules.NoResearchConsent));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task DuplicateEventDelivery()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("duplicate-event-delivery"), 2);
        Assert.Equal(3, run.Count("accelerometer_trusted"));
        var before = run.OutputKeys().ToDictionary(k => k, k => File.GetLastWriteTimeUtc(Path.Combine(run.Bucket, k)));
        var again = await run.DeliverAsync("duplicate-event-delivery", "event-redelivery.json");
        var o = Assert.Single(again.Outcomes);
        Assert.Equal("already_processed", o.Status);
        Assert.Equal("accelerometer/landing/accelerometer-1750000100000.json", o.Key);
        Assert.Empty(again.BatchItemFailures);
        Assert.Equal(3, run.Count("accelerometer_trusted"));
        Assert.Empty(run.AllQuarantine());
        Assert.Contains(run.Log.Events, e => e.Event == "already_processed" && e.Level == "info");
        Assert.DoesNotContain(run.Log.Events, e => e.Level == "error");
        // Nothing was rewritten by the redelivery.
        Assert.Equal(before, run.OutputKeys().ToDictionary(k => k, k => File.GetLastWriteTimeUtc(Path.Combine(run.Bucket, k))));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task ExactDuplicateRows()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("exact-duplicate-rows"), 2);
        Assert.Equal(["1|0|0", "0|-1|-1"], run.Strings("SELECT CAST(x AS INT) || '|' || CAST(y AS INT) || '|' || CAST(z AS INT) FROM accelerometer_trusted ORDER BY x DESC"));
        Assert.Equal([T + 1000, T + 1000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted"));
        var rec = await run.ReconcileAsync();
        Assert.Equal(1, Filtered(rec, "accelerometer/landing/accelerometer-dupes.json", FilterRules.DuplicateReading));
        Assert.Equal(2, rec.Single(r => r.Source == "accelerometer").Accepted);
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task GzipDetection()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("gzip-detection"), 3);
        Assert.Equal(6, run.Count("accelerometer_trusted"));
        Assert.Equal(Enumerable.Range(1, 6).Select(i => T + 1000L * i).ToList(), run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        Assert.True((await run.ManifestAsync("accelerometer/landing/accelerometer-1750000300000.json.gz"))!.Gzip);
        var plain = (await run.ManifestAsync("accelerometer/landing/accelerometer-1750000400000-not-really.json.gz"))!;
        Assert.False(plain.Gzip);
        Assert.Equal((3, 0), (plain.RowsStaged, plain.RowsQuarantined));
        Assert.Empty(run.AllQuarantine());
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task KeyPlusSpace()
    {
        using var run = new CaseRun();
        var r = await run.RunCaseAsync("key-plus-space");
        AllIngested(r, 1);
        const string key = "customer/landing/customer batch 1.json";
        Assert.Equal(key, r.Outcomes[0].Key);
        Assert.Equal(["alice@example.com"], run.Strings("SELECT email FROM customer_trusted"));
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal(key, m.LandingKey);
        Assert.Equal(2, m.RowsRead);
        Assert.DoesNotContain(run.Log.Events, e => e.Event is "object_not_found" or "ingest_failed");
        // The SQS-wrapped form (what the ingest queue delivers) decodes the key exactly once too.
        using var viaSqs = new CaseRun();
        await viaSqs.UploadCaseAsync("key-plus-space");
        var sqs = await viaSqs.DeliverJsonAsync(WrapInSqs(await File.ReadAllTextAsync(Path.Combine(CasePaths.Case("key-plus-space"), "event.json"))));
        Assert.Equal(("ingested", key), (sqs.Outcomes.Single().Status, sqs.Outcomes.Single().Key));
        Assert.Empty(sqs.BatchItemFailures);
        await AssertBalancedAsync(run);
    }

    internal static string WrapInSqs(string body) => JsonSerializer.Serialize(new
    {
        Records = new[] { new { messageId = "m-1", receiptHandle = "r", body, eventSource = "aws:sqs", awsRegion = "us-east-1" } },
    });

    [Fact]
    public async Task An_sns_envelope_is_unwrapped_and_a_json_body_without_records_is_a_batch_item_failure()
    {
        using var run = new CaseRun();
        await run.UploadCaseAsync("utf8-bom");
        // S3 → SNS → SQS: the S3 event notification is the text of the SNS envelope's Message.
        var s3Event = await run.P.EventForAsync("customer/landing/customers.json");
        var sns = JsonSerializer.Serialize(new { Type = "Notification", MessageId = "sns-1", TopicArn = "arn:aws:sns:us-east-1:123456789012:landing", Message = s3Event });
        var r = await run.DeliverJsonAsync(WrapInSqs(sns));
        Assert.Equal(("customer/landing/customers.json", "ingested"), (r.Outcomes.Single().Key, r.Outcomes.Single().Status));
        Assert.Empty(r.BatchItemFailures);

        // JSON that is not an S3 event notification (a refresh message on the wrong queue, a stray test message): never
        // acknowledged without a trace; failed, so SQS retries it and then dead-letters it.
        foreach (var body in new[] { "{\"hello\":\"world\"}", "{\"table\":\"accelerometer_trusted\",\"partition\":\"2022-06-18-15\"}", "{\"Records\":[]}" })
        {
            var bad = await run.DeliverJsonAsync(WrapInSqs(body));
            var o = bad.Outcomes.Single();
            Assert.Equal(("failed", "message body is JSON but not an S3 event notification (no Records)"), (o.Status, o.Reason));
            Assert.Equal("m-1", Assert.Single(bad.BatchItemFailures).ItemIdentifier);
        }
    }

    [Fact]
    public async Task MultiRecordEvent()
    {
        using var run = new CaseRun();
        var r = await run.RunCaseAsync("multi-record-event");
        Assert.Equal(4, r.Outcomes.Count);
        Assert.Equal(["ingested", "ingested", "ingested", "not_found"], r.Outcomes.Select(o => o.Status).ToList());
        var missing = r.Outcomes[3];
        Assert.Equal("accelerometer/landing/deleted-before-read.json", missing.Key);
        Assert.Equal("object not found", missing.Reason);
        Assert.Empty(r.BatchItemFailures);
        Assert.Equal(["alice@example.com"], run.Strings("SELECT email FROM customer_trusted"));
        Assert.Equal(1, run.Count("accelerometer_trusted"));
        Assert.Equal([T + 1000], run.Longs("SELECT sensorReadingTime FROM step_trainer_trusted"));
        Assert.Equal(3, (await run.P.Lake.Index.Ledger.ListAsync()).Count);
        // Through SQS too: the missing object is reported on its own and fails nothing.
        using var viaSqs = new CaseRun();
        await viaSqs.UploadCaseAsync("multi-record-event");
        var sqs = await viaSqs.DeliverJsonAsync(WrapInSqs(await File.ReadAllTextAsync(Path.Combine(CasePaths.Case("multi-record-event"), "event.json"))));
        Assert.Equal(["ingested", "ingested", "ingested", "not_found"], sqs.Outcomes.Select(o => o.Status).ToList());
        Assert.Empty(sqs.BatchItemFailures);
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task NullsInRequiredFields()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("nulls-in-required-fields"), 2);
        var alice = run.Query("SELECT email, phone, birthDay FROM customer_trusted").Rows;
        Assert.Equal(["alice@example.com", null, null], Assert.Single(alice));

        var cq = Assert.Single(run.Quarantine("customer"));
        Assert.Equal((ReasonCodes.MissingRequiredField, 2L, "customer/landing/customer-nulls.json"), (cq.Reason, cq.LineNumber, cq.SourceKey));
        Assert.StartsWith("email", cq.Detail);
        var sq = run.Quarantine("step_trainer").OrderBy(q => q.LineNumber).ToList();
        Assert.Equal([2L, 3L, 4L], sq.Select(q => q.LineNumber).ToList());
        Assert.All(sq, q => Assert.Equal(ReasonCodes.MissingRequiredField, q.Reason));
        Assert.Equal(["distanceFromObject", "sensorReadingTime", "serialNumber"], sq.Select(q => q.Detail.Split(':')[0]).ToList());
        var stepLines = File.ReadAllLines(Path.Combine(CasePaths.Case("nulls-in-required-fields"), "landing/step_trainer/landing/step-nulls.json"));
        Assert.Equal(Encoding.UTF8.GetByteCount(stepLines[0]) + 1, sq[0].ByteOffset);

        // The valid reading is written (staged Parquet); one bad record never fails the write of the others.
        Assert.Equal(1, run.StagedRows("step_trainer"));
        Assert.Equal(1, run.StagedRows("step_trainer", $"sensorReadingTime = {T + 1000} AND distanceFromObject = 231"));
        Assert.Equal("partial", (await run.ManifestAsync("step_trainer/landing/step-nulls.json"))!.Status);
        Assert.Equal("partial", (await run.ManifestAsync("customer/landing/customer-nulls.json"))!.Status);
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task NumbersAsStrings()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("numbers-as-strings"), 3);
        var acc = run.Query("SELECT \"timestamp\", x, y, z FROM accelerometer_trusted").Rows;
        var a = Assert.Single(acc);
        Assert.Equal((T + 1000, 1.0, -1.0, 0.0), (Convert.ToInt64(a[0]), Convert.ToDouble(a[1]), Convert.ToDouble(a[2]), Convert.ToDouble(a[3])));
        var q = Assert.Single(run.Quarantine("accelerometer"));
        Assert.Equal((ReasonCodes.NotANumber, "x: not a number", 2L), (q.Reason, q.Detail, q.LineNumber));
        var am = (await run.ManifestAsync("accelerometer/landing/accelerometer-strings.json"))!;
        Assert.Equal((1L, "partial"), (am.RowsNormalized, am.Status));
        Assert.Contains(am.Normalized.Keys, k => k.StartsWith("timestamp"));
        Assert.Contains(am.Normalized.Keys, k => k.StartsWith("x"));
        var sm = (await run.ManifestAsync("step_trainer/landing/step-strings.json"))!;
        Assert.Equal((1L, 1L, "complete"), (sm.RowsStaged, sm.RowsNormalized, sm.Status));
        // String fields are never coerced: "007" stays "007" and still matches the customer.
        Assert.Equal(["007"], run.Strings("SELECT serialNumber FROM customer_trusted"));
        var st = Assert.Single(run.Query("SELECT sensorReadingTime, serialNumber, distanceFromObject FROM step_trainer_trusted").Rows);
        Assert.Equal((T + 1000, "007", 250L), (Convert.ToInt64(st[0]), (string)st[1]!, Convert.ToInt64(st[2])));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task OutputPrefixSelfTrigger()
    {
        using var run = new CaseRun();
        var store = run.UseCountingStore();
        var r = await run.DeliverAsync("output-prefix-self-trigger");
        Assert.Equal(2, r.Outcomes.Count);
        Assert.All(r.Outcomes, o => Assert.Equal("ignored", o.Status));
        Assert.Equal(["accelerometer/trusted/run=2026-11-29/part-00000.parquet", "quarantine/accelerometer/accelerometer-1750000200000.json"],
            r.Outcomes.Select(o => o.Key).ToList());
        Assert.Empty(r.BatchItemFailures);
        Assert.Equal((0, 0, 0, 0), (store.Heads, store.Reads, store.Puts, store.Deletes));
        Assert.Empty(run.OutputKeys());
        Assert.Empty(await run.P.Lake.Index.Ledger.ListAsync());
    }

    [Fact]
    public async Task ParquetAthenaTypes()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("parquet-athena-types"), 2);
        Assert.Empty(run.AllQuarantine());
        // The readings' values come back exactly.
        var files = run.StagedFiles("step_trainer");
        var values = new List<long>();
        foreach (var f in files)
        {
            using var c = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT distanceFromObject FROM read_parquet('{f}')";
            using var rd = cmd.ExecuteReader();
            while (rd.Read()) values.Add(Convert.ToInt64(rd.GetValue(0)));
        }
        Assert.Equal([255L, 65535L, 3000000000L], values.Order().ToList());

        // Every Parquet file written uses signed physical types with Athena-safe annotations only.
        var written = run.Keys("").Where(k => k.EndsWith(".parquet")).Select(k => Path.Combine(run.Bucket, k)).ToList();
        Assert.NotEmpty(written);
        foreach (var f in written)
            foreach (var col in DuckDbQueryEngine.Describe(f).Columns)
            {
                Assert.NotEqual("INT96", col.PhysicalType);
                Assert.DoesNotContain("UINT", col.ConvertedType ?? "");
                Assert.DoesNotContain("isSigned=0", (col.LogicalType ?? "").Replace(" ", ""));
                Assert.DoesNotContain("TIMESTAMP_MICROS", col.ConvertedType ?? "");
                if (col.Name is "sensorReadingTime" or "timestamp" or "registrationDate" or "lastUpdateDate" or "shareWithResearchAsOfDate")
                    Assert.Equal("INT64", col.PhysicalType);
            }

        // The catalog (Glue) column types equal the file's types, table by table.
        foreach (var table in run.P.Lake.Catalog.LoadAll())
        {
            var file = Directory.Exists(table.Location) ? Directory.EnumerateFiles(table.Location, "*.parquet", SearchOption.AllDirectories).FirstOrDefault() : null;
            if (file is null) continue;
            var cols = DuckDbQueryEngine.Describe(file).Columns.ToDictionary(c => c.Name);
            foreach (var cc in table.Columns)
            {
                var expected = cc.Type switch { "bigint" => "INT64", "int" => "INT32", "double" => "DOUBLE", _ => "BYTE_ARRAY" };
                Assert.Equal((table.Name, cc.Name, expected), (table.Name, cc.Name, cols[cc.Name].PhysicalType));
            }
        }
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task PrettyPrintedJson()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("pretty-printed-json"), 1);
        Assert.Equal(["alice@example.com", "bob@example.com"], run.Strings("SELECT email FROM customer_trusted ORDER BY email"));
        Assert.Empty(run.AllQuarantine());
        var m = (await run.ManifestAsync("customer/landing/customer-pretty.json"))!;
        Assert.Equal((2L, 2L, "complete"), (m.RowsRead, m.RowsStaged, m.Status));
        Assert.Equal(2, run.StagedRows("customer", "line_number IN (1, 12)"));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task ReadingsBeforeConsent()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("readings-before-consent"), 3);
        Assert.Equal([T, T + 1000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        Assert.Equal([T, T + 1000], run.Longs("SELECT sensorReadingTime FROM step_trainer_trusted ORDER BY 1"));
        Assert.Empty(run.AllQuarantine());
        var rec = await run.ReconcileAsync();
        Assert.Equal(1, Filtered(rec, "accelerometer/landing/accelerometer-consent-boundary.json", FilterRules.BeforeConsent));
        Assert.Equal(1, rec.Single(o => o.Source == "step_trainer").Filtered.Values.Sum());
        await AssertBalancedAsync(run);
    }

    [Theory]
    [InlineData("event.json")]
    [InlineData("event-sqs.json")]
    public async Task S3TestEvent(string eventFile)
    {
        using var run = new CaseRun();
        var store = run.UseCountingStore();
        var r = await run.DeliverAsync("s3-test-event", eventFile);
        Assert.Equal("test_event", Assert.Single(r.Outcomes).Status);
        Assert.Empty(r.BatchItemFailures);
        Assert.Equal((0, 0, 0, 0), (store.Heads, store.Reads, store.Puts, store.Deletes));
        Assert.Empty(run.OutputKeys());
        Assert.Single(run.Log.Events);
        Assert.Equal(("info", "s3_test_event"), (run.Log.Events[0].Level, run.Log.Events[0].Event));
    }

    [Fact]
    public async Task SchemaDriftExtraFields()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("schema-drift-extra-fields"), 1);
        var rows = run.Query("SELECT email, extra_fields FROM customer_trusted ORDER BY email").Rows;
        Assert.Equal(3, rows.Count);
        Assert.Null(rows[0][1]);
        Assert.Equal("""{"loyaltyTier":"gold"}""", rows[1][1]);
        Assert.Equal("""{"address":{"city":"Exampleville","geo":{"lat":0.0,"lon":0.0}},"tags":{"app.version":"2.1","aws:source":"web"},"prefs":{}}""", rows[2][1]);
        var expectedCols = Stedi.Lakehouse.Schema.Tables.CustomerColumns.Select(c => c.Name).ToList();
        var catalog = run.P.Lake.Catalog.Load("customer_trusted")!;
        Assert.Equal(expectedCols, catalog.Columns.Select(c => c.Name).ToList());
        Assert.All(catalog.Columns, c => Assert.Contains(c.Type, new[] { "string", "bigint", "int", "double" }));
        var file = Directory.EnumerateFiles(catalog.Location, "*.parquet", SearchOption.AllDirectories).First();
        Assert.Equal(expectedCols, DuckDbQueryEngine.Describe(file).Columns.Select(c => c.Name).ToList());
        var m = (await run.ManifestAsync("customer/landing/customer-drift.json"))!;
        Assert.Equal(["address", "loyaltyTier", "prefs", "tags"], m.SchemaDriftFields.ToList());
        Assert.Contains(run.Log.Events, e => e.Level == "warn" && e.Event == "schema_drift");
        Assert.Empty(run.AllQuarantine());
        // Existing partitions stay queryable.
        Assert.Equal(3, run.Count("customer_trusted"));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task SerialNumberReuse()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("serial-number-reuse"), 3);
        Assert.Equal([T + 1000, T + 3000], run.Longs("SELECT sensorReadingTime FROM step_trainer_trusted ORDER BY 1"));
        var rec = await run.ReconcileAsync();
        Assert.Equal(1, Filtered(rec, "step_trainer/landing/step-shared-serial.json", FilterRules.AmbiguousSerial));
        var books = await LakeBookkeeping.LoadAsync(run.P.Lake.Index, run.P.Lake.Store);
        Assert.Equal(1, books.Details.Values.Where(d => d.Table == "step_trainer_trusted").Sum(d => d.Flagged.GetValueOrDefault(FilterRules.AmbiguousSerialAttributed)));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task TimestampKeyCasing()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("timestamp-key-casing"), 2);
        Assert.Equal([T + 1000, T + 2000, T + 3000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        foreach (var f in run.Keys("").Where(k => k.EndsWith(".parquet") && k.Contains("accelerometer")))
        {
            var names = DuckDbQueryEngine.Describe(Path.Combine(run.Bucket, f)).Columns.Select(c => c.Name).ToList();
            Assert.Single(names, n => n.Equals("timestamp", StringComparison.OrdinalIgnoreCase));
            Assert.Contains("timestamp", names);
        }
        Assert.DoesNotContain(run.P.Lake.Catalog.Load("accelerometer_trusted")!.Columns, c => c.Name == "timeStamp");
        var m = (await run.ManifestAsync("accelerometer/landing/accelerometer-mixed-casing.json"))!;
        Assert.Equal((3L, 0L), (m.RowsStaged, m.RowsQuarantined));
        Assert.Empty(m.SchemaDriftFields);
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task TruncatedLastLine()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("truncated-last-line"), 1);
        const string key = "customer/landing/customer-1750000200000.json";
        Assert.Equal(["alice@example.com", "bob@example.com"], run.Strings("SELECT email FROM customer_trusted ORDER BY email"));
        var landing = await File.ReadAllBytesAsync(Path.Combine(CasePaths.Case("truncated-last-line"), "landing", key));
        var q = Assert.Single(run.Quarantine("customer"));
        var offset = 0; for (var n = 0; n < 3; n++) offset = Array.IndexOf(landing, (byte)'\n', offset) + 1;
        Assert.Equal((ReasonCodes.TruncatedJson, key, 4L, (long)offset), (q.Reason, q.SourceKey, q.LineNumber, q.ByteOffset));
        Assert.StartsWith("truncated/invalid JSON", q.Detail);
        Assert.Equal(Encoding.UTF8.GetString(landing, offset, landing.Length - offset), q.Raw);
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal(("partial", 4L, 3L, 1L), (m.Status, m.RowsRead, m.RowsStaged, m.RowsQuarantined));
        Assert.Equal(1, m.QuarantinedByReason[ReasonCodes.TruncatedJson]);
        // The landing object stays intact.
        Assert.Equal(landing, await File.ReadAllBytesAsync(Path.Combine(run.Bucket, key)));
        var rec = await run.ReconcileAsync();
        Assert.Equal(1, Filtered(rec, key, FilterRules.NoResearchConsent));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task Utf8Bom()
    {
        using var run = new CaseRun();
        AllIngested(await run.RunCaseAsync("utf8-bom"), 2);
        Assert.Equal([T + 1000, T + 2000], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        Assert.Empty(run.AllQuarantine());
        var m = (await run.ManifestAsync("accelerometer/landing/accelerometer-bom.json"))!;
        Assert.True(m.Bom);
        Assert.Empty(m.SchemaDriftFields);
        Assert.Equal(0, run.StagedRows("accelerometer", "extra_fields IS NOT NULL"));
        foreach (var f in run.Keys("").Where(k => k.EndsWith(".parquet")))
            Assert.All(DuckDbQueryEngine.Describe(Path.Combine(run.Bucket, f)).Columns, c => Assert.DoesNotContain('\uFEFF', c.Name));
        await AssertBalancedAsync(run);
    }

    [Fact]
    public async Task ZeroByteFile()
    {
        using var run = new CaseRun();
        var r = await run.RunCaseAsync("zero-byte-file");
        AllIngested(r, 1);
        const string key = "customer/landing/customer-1750000000000.json";
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal(("empty", 0L), (m.Status, m.RowsRead));
        Assert.Contains("empty object", m.Warnings);
        Assert.Empty(m.StagedKeys);
        Assert.DoesNotContain(run.Keys(""), k => k.EndsWith(".parquet"));
        Assert.Empty(run.AllQuarantine());
        Assert.All(run.P.Lake.Catalog.LoadAll(), t => Assert.Empty(t.Partitions));
        // Not retried: a redelivery is already processed, and nothing is a failure.
        var again = await run.DeliverAsync("zero-byte-file");
        Assert.Equal("already_processed", again.Outcomes.Single().Status);
        var viaSqs = await run.DeliverJsonAsync(WrapInSqs(await File.ReadAllTextAsync(Path.Combine(CasePaths.Case("zero-byte-file"), "event.json"))));
        Assert.Empty(viaSqs.BatchItemFailures);
        await AssertBalancedAsync(run);
    }

    /// <summary>"The pipeline must give the same result in any other order too": every multi-record case, records reversed.</summary>
    [Theory]
    [InlineData("duplicate-email-customers")]
    [InlineData("readings-before-consent")]
    [InlineData("serial-number-reuse")]
    [InlineData("numbers-as-strings")]
    [InlineData("gzip-detection")]
    [InlineData("multi-record-event")]
    [InlineData("exact-duplicate-rows")]
    public async Task SameResultInReverseOrder(string caseName)
    {
        using var forward = new CaseRun();
        await forward.RunCaseAsync(caseName);
        using var reverse = new CaseRun();
        await reverse.UploadCaseAsync(caseName);
        var doc = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(CasePaths.Case(caseName), "event.json")))!;
        var records = doc["Records"]!.AsArray().Select(n => n!.DeepClone()).Reverse().ToList();
        foreach (var rec in records) await reverse.DeliverJsonAsync(new JsonObject { ["Records"] = new JsonArray(rec) }.ToJsonString());
        var tables = forward.P.Lake.Catalog.LoadAll().Select(t => t.Name).Order().ToList();
        Assert.Equal(tables, reverse.P.Lake.Catalog.LoadAll().Select(t => t.Name).Order().ToList());
        foreach (var t in tables)
        {
            var sql = $"SELECT * FROM {t} ORDER BY ALL";
            Assert.Equal(Dump(forward.Query(sql)), Dump(reverse.Query(sql)));
        }
    }

    private static string Dump(QueryResult r) => string.Join('\n', r.Rows.Select(row => string.Join('|', row.Select(v => v?.ToString() ?? "null"))));
}
