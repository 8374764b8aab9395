using Stedi.Deployment;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Refine;
using Xunit.Abstractions;

namespace Stedi.Functions.Tests;

/// <summary>End to end on moto with the real data: docs/ARCHITECTURE.md §2's counts, row-for-row equality with the local
/// run, the Glue catalog. The checks are shared; each profile's class declares them as facts (strict by default, rubric slow).</summary>
public abstract class EndToEndTests(EndToEndFixture f, ITestOutputHelper output)
{
    protected abstract IReadOnlyDictionary<string, long> ExpectedCounts { get; }
    protected ITestOutputHelper Output => output;

    protected void Check_Row_counts_read_back_from_S3_are_the_design_counts()
    {
        output.WriteLine($"{f.Profile}: emulation {f.EmulationTime.TotalSeconds:0.0} s, {f.Summary.Recomputes} recomputes");
        var actual = f.Emulated.Rows.ToDictionary(kv => kv.Key, kv => (long)kv.Value.Count);
        Assert.Equal(ExpectedCounts.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
        Assert.Equal(ExpectedCounts.OrderBy(kv => kv.Key), f.Summary.Tables.OrderBy(kv => kv.Key));
    }

    protected void Check_Every_table_equals_the_local_run_row_for_row()
    {
        foreach (var t in Tables.Published(f.Profile))
        {
            var moto = f.Emulated.Rows[t.Name].Order(RowComparer.Instance).ToList();
            var local = f.Local.Rows[t.Name].Order(RowComparer.Instance).ToList();
            Assert.Equal(local.Count, moto.Count);
            for (var i = 0; i < local.Count; i++)
                Assert.True(RowComparer.Instance.Equals(local[i], moto[i]),
                    $"{t.Name} row {i}: local [{string.Join(", ", local[i])}] vs moto [{string.Join(", ", moto[i])}]");
            Assert.Equal(f.Local.Partitions[t.Name], f.Emulated.Partitions[t.Name]);
        }
    }

    protected void Check_Every_object_is_ingested_once_and_nothing_fails_or_dead_letters()
    {
        Assert.Equal(13, f.UploadedKeys.Count);
        var ingested = f.FirstOutcomes.Where(o => o.Status == "ingested").Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(f.UploadedKeys.Order(StringComparer.Ordinal), ingested);
        Assert.Equal(3, f.FirstOutcomes.Count(o => o.Status == "test_event"));
        Assert.DoesNotContain(f.FirstOutcomes, o => o.Status is "failed" or "too_large" or "not_found");
        Assert.Equal(0, f.DeadLetters);
        Assert.Equal(13, f.Summary.Objects);
        Assert.Equal(0, f.Summary.Failed);
        Assert.Equal(0, f.Deployment.Mappings.Sum(m => m.Failed));
    }

    protected async Task Check_Glue_has_the_stacks_five_tables_with_partition_projection_and_the_functions_registered_no_partition()
    {
        var catalog = f.Deployment.Lake.Catalog;
        var bucket = f.Deployment.Lake.Config.Bucket;
        foreach (var t in Tables.Published(f.Profile))
        {
            var g = await catalog.DescribeTableAsync(t.Name);
            Assert.NotNull(g);
            // Exactly the Catalog stack's table (GlueTables, which CatalogStack turns into AWS::Glue::Table).
            var d = GlueTables.Definition(t, bucket);
            Assert.Equal("EXTERNAL_TABLE", g.TableType);
            Assert.Equal(t.Columns.Select(c => (c.Name, c.GlueType)), g.Columns.Select(c => (c.Name, c.Type)));
            Assert.Equal(d.Columns.Select(c => (c.Name, c.Type, c.Comment ?? "")), g.Columns);
            Assert.Equal([(t.PartitionKey, "string")], g.PartitionKeys.Select(c => (c.Name, c.Type)));
            Assert.Equal($"s3://{bucket}/{t.Prefix}", g.Location);
            Assert.Equal((d.Location, d.InputFormat, d.OutputFormat, d.SerializationLibrary, d.Description),
                (g.Location, g.InputFormat, g.OutputFormat, g.SerializationLibrary, g.Description));
            Assert.Equal(d.Parameters.OrderBy(p => p.Key), g.Parameters.OrderBy(p => p.Key));
            Assert.Equal(d.SerDeParameters.OrderBy(p => p.Key), g.SerDeParameters!.OrderBy(p => p.Key));
            Assert.Equal("true", g.Parameters["projection.enabled"]);
            Assert.Equal($"s3://{bucket}/{t.Prefix}{t.PartitionKey}=${{{t.PartitionKey}}}/", g.Parameters["storage.location.template"]);
            // Athena finds partitions by projection; the functions make no catalog call at all.
            Assert.Empty(await catalog.GetPartitionValuesAsync(t.Name));
            Assert.NotEmpty(f.Emulated.Partitions[t.Name]);
        }
    }
}

public sealed class StrictEndToEndTests(StrictEndToEnd f, ITestOutputHelper output) : EndToEndTests(f, output), IClassFixture<StrictEndToEnd>
{
    [Fact] public void Row_counts_read_back_from_S3_are_the_design_counts() => Check_Row_counts_read_back_from_S3_are_the_design_counts();
    [Fact] public void Every_table_equals_the_local_run_row_for_row() => Check_Every_table_equals_the_local_run_row_for_row();
    [Fact] public void Every_object_is_ingested_once_and_nothing_fails_or_dead_letters() => Check_Every_object_is_ingested_once_and_nothing_fails_or_dead_letters();
    [Fact] public Task Glue_has_the_stacks_five_tables_with_partition_projection_and_the_functions_registered_no_partition() => Check_Glue_has_the_stacks_five_tables_with_partition_projection_and_the_functions_registered_no_partition();

    [Fact]
    public void The_requests_of_one_load_of_the_seed_data()
    {
        // A measurement for the README's cost section: the functions' S3 and DynamoDB requests (and DynamoDB's on-demand
        // units) for one load of the seed data, and the refresh messages sent. The emulation's own SQS polling and the
        // 13 uploads are left out.
        var calls = f.FirstLoadCalls.Where(c => !(c.Service == "S3" && c.Operation == "PUT" && c.Key.Contains("/landing/", StringComparison.Ordinal))
            && (c.Service != "SQS" || c.Operation == "SendMessageBatch")).ToList();
        Output.WriteLine($"{f.Summary.Recomputes} recomputes, {f.UploadedKeys.Count} objects");
        foreach (var g in calls.GroupBy(c => (c.Service, c.Operation)).OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Operation, StringComparer.Ordinal))
            Output.WriteLine($"{g.Key.Service} {g.Key.Operation}: {g.Count()}" + (g.Key.Service == "DynamoDB" ? $" ({g.Sum(c => c.ReadUnits):0} RRU, {g.Sum(c => c.WriteUnits):0} WRU)" : ""));
        Assert.Contains(calls, c => c.Service == "DynamoDB");
        Assert.Contains(calls, c => c.Service == "S3" && c.Operation == "GET");
        Assert.DoesNotContain(calls, c => c.Service == "S3" && c.Operation == "LIST" && c.Key.Length == 0); // no whole-bucket listing
    }

    protected override IReadOnlyDictionary<string, long> ExpectedCounts { get; } = new Dictionary<string, long>
    {
        ["customer_trusted"] = 482, ["accelerometer_trusted"] = 32_025, ["customer_curated"] = 464,
        ["step_trainer_trusted"] = 11_297, ["machine_learning_curated"] = 32_025,
    };

    [Fact]
    public void Redelivering_every_message_in_reverse_order_changes_nothing()
    {
        Assert.NotNull(f.AfterRedelivery);
        Output.WriteLine($"redelivery of {f.RedeliveredLanding} landing and {f.RedeliveredRefresh} refresh messages: {f.RedeliveryTime.TotalSeconds:0.0} s");
        // 13 notifications and 3 s3:TestEvents, each twice.
        Assert.Equal(32, f.RedeliveredLanding);
        Assert.True(f.RedeliveredRefresh > 0);
        // Every redelivered S3 notification is recognised by its idempotency key; nothing is read twice. (Which messages
        // the first phase saw — a test event, or a notification received twice under load — varies, so count by kind.)
        Assert.Equal(32, f.RedeliveryOutcomes.Count);
        Assert.All(f.RedeliveryOutcomes, o => Assert.Contains(o.Status, new[] { "already_processed", "test_event" }));
        Assert.True(f.RedeliveryOutcomes.Count(o => o.Status == "already_processed") >= 26);
        foreach (var t in Tables.Published(f.Profile))
        {
            var before = f.Emulated.Rows[t.Name].Order(RowComparer.Instance).ToList();
            var after = f.AfterRedelivery.Rows[t.Name].Order(RowComparer.Instance).ToList();
            Assert.Equal(before.Count, after.Count);
            Assert.True(before.SequenceEqual(after, RowComparer.Instance), $"{t.Name} changed after redelivery");
            Assert.Equal(f.Emulated.Partitions[t.Name], f.AfterRedelivery.Partitions[t.Name]);
        }
        Assert.Equal(0, f.DeadLettersAfterRedelivery);
    }
}

public sealed class RubricEndToEndTests(RubricEndToEnd f, ITestOutputHelper output) : EndToEndTests(f, output), IClassFixture<RubricEndToEnd>
{
    [SlowFact] public void Row_counts_read_back_from_S3_are_the_design_counts() => Check_Row_counts_read_back_from_S3_are_the_design_counts();
    [SlowFact] public void Every_table_equals_the_local_run_row_for_row() => Check_Every_table_equals_the_local_run_row_for_row();
    [SlowFact] public void Every_object_is_ingested_once_and_nothing_fails_or_dead_letters() => Check_Every_object_is_ingested_once_and_nothing_fails_or_dead_letters();
    [SlowFact] public Task Glue_has_the_stacks_five_tables_with_partition_projection_and_the_functions_registered_no_partition() => Check_Glue_has_the_stacks_five_tables_with_partition_projection_and_the_functions_registered_no_partition();

    protected override IReadOnlyDictionary<string, long> ExpectedCounts { get; } = new Dictionary<string, long>
    {
        ["customer_trusted"] = 482, ["accelerometer_trusted"] = 40_981, ["customer_curated"] = 482,
        ["step_trainer_trusted"] = 14_460, ["machine_learning_curated"] = 43_681,
    };

    [SlowFact]
    public void Delivered_in_another_order_customer_last_and_still_equal_to_the_local_run()
    {
        // Row-for-row equality with the local run (customer first) is asserted by the shared tests.
        Assert.StartsWith("step_trainer/", f.UploadedKeys[0], StringComparison.Ordinal);
        Assert.StartsWith("customer/", f.UploadedKeys[^1], StringComparison.Ordinal);
    }
}
