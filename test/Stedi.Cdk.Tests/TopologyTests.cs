using Stedi.Deployment;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk.Tests;

/// <summary>The shared figures hold the relations their documentation promises, and agree with the domain's names.</summary>
public sealed class TopologyTests
{
    [Fact]
    public void The_size_guard_is_4_GiB_and_takes_at_most_a_third_of_the_ingest_timeout_at_the_assumed_Lambda_speed()
    {
        Assert.Equal(5L * 1024 * 1024 * 1024, Topology.TimeoutBoundBytes);
        Assert.Equal(4L * 1024 * 1024 * 1024, Topology.EphemeralStorageBoundBytes);
        Assert.Equal(4L * 1024 * 1024 * 1024, Topology.MaxObjectBytes);
        var assumedBytesPerSecond = (double)Topology.MeasuredIngestBytes / Topology.MeasuredIngestSeconds / Topology.AssumedLambdaSlowdown;
        Assert.True(Topology.MaxObjectBytes / assumedBytesPerSecond <= Topology.IngestTimeoutSeconds / 3.0);
        Assert.Equal(900, Topology.IngestTimeoutSeconds); // Lambda's maximum
    }

    [Fact]
    public void Function_sizes_are_within_Lambda_limits_and_tmp_holds_twice_the_largest_object()
    {
        Assert.InRange(Topology.IngestMemoryMb, 128, 10_240);
        Assert.InRange(Topology.RefineMemoryMb, 128, 10_240);
        Assert.InRange(Topology.IngestEphemeralStorageMb, 512, 10_240);
        Assert.InRange(Topology.RefineEphemeralStorageMb, 512, 10_240);
        // Twice the largest object (quarantine lines of a mostly bad one) and 1 GiB more for its staged Parquet.
        Assert.True(2 * Topology.MaxObjectBytes + (1L << 30) <= Topology.IngestEphemeralStorageMb * 1024L * 1024);
        // Memory is sized for CPU; what an ingest holds grows with the object's distinct customers, not its bytes
        // (BENCHMARKS.md, one big object): several times the measured peak leaves room for an object with several
        // times that object's ~200,000 customers.
        Assert.True(Topology.IngestMemoryMb >= 6 * Topology.MeasuredIngestPeakRssMb);
        Assert.Equal(1769, Topology.IngestMemoryMb); // one vCPU
    }

    [Fact]
    public void Queues_follow_the_function_timeouts_and_mappings_stay_in_SQS_and_Lambda_ranges()
    {
        Assert.Equal(6 * Topology.IngestTimeoutSeconds, Topology.LandingVisibilityTimeoutSeconds);
        Assert.Equal(6 * Topology.RefineTimeoutSeconds, Topology.RefreshVisibilityTimeoutSeconds);
        Assert.True(Topology.LandingVisibilityTimeoutSeconds <= 43_200); // SQS maximum, 12 h
        Assert.True(Topology.MaxReceiveCount * Topology.LandingVisibilityTimeoutSeconds < 4 * 86_400); // before the 4-day retention
        Assert.InRange(Topology.IngestBatchSize, 1, Topology.SqsMaxBatchEntries);
        Assert.Equal(10, Topology.RefineBatchSize); // the FIFO maximum
        foreach (var source in Topology.Sources) Assert.InRange(Topology.IngestMaximumConcurrency(source), 2, 1000);
        Assert.InRange(Topology.RefineMaximumConcurrency, 2, 1000);
        Assert.Throws<ArgumentException>(() => Topology.IngestMaximumConcurrency("other"));
    }

    [Fact]
    public void The_key_layout_agrees_with_the_domain_schema_and_landing_sources()
    {
        Assert.Equal(LandingSource.All.Select(s => s.Name), Topology.Sources);
        foreach (var s in LandingSource.All)
        {
            Assert.Equal(s.LandingPrefix, Topology.LandingPrefix(s.Name));
            Assert.Equal(s.Staged.Prefix, Topology.StagedPrefix(s.Name));
        }
        // Every key the code writes falls under the prefix IAM and the lifecycle rules name for it.
        Assert.StartsWith(Topology.QuarantinePrefix("step_trainer"), LakeKeys.Quarantine("step_trainer", "0123456789abcdef"), StringComparison.Ordinal);
        Assert.StartsWith(Topology.ManifestPrefix("customer"), LakeKeys.Manifest("customer", "0123456789abcdef"), StringComparison.Ordinal);
        Assert.StartsWith(Topology.RefineRoot, LakeKeys.RefineDetail("accelerometer_trusted", "2022-06-18-15", new string('a', 64)), StringComparison.Ordinal);
        Assert.Equal("staged/*/compact-*", Topology.CompactedStagedPattern);
        Assert.Throws<ArgumentException>(() => Topology.StagedPrefix("other"));
        Assert.All(Tables.Published(ConsentProfile.Strict), t => Assert.True(
            t.Prefix.StartsWith(Topology.TrustedRoot, StringComparison.Ordinal) || t.Prefix.StartsWith(Topology.CuratedRoot, StringComparison.Ordinal), t.Prefix));
    }

    [Fact]
    public void Environment_variable_names_are_the_agreed_ones()
    {
        Assert.Equal(
            ["STEDI_CUSTOMER_KEY_SECRET_ID", "STEDI_DATA_SUFFIXES", "STEDI_GLUE_DATABASE", "STEDI_INDEX_TABLE", "STEDI_LAKE_BUCKET",
             "STEDI_MAX_OBJECT_BYTES", "STEDI_PROFILE", "STEDI_REFRESH_QUEUE_URL", "STEDI_SOURCE", "STEDI_TIME_WINDOW_MAX",
             "STEDI_TIME_WINDOW_MIN"],
            typeof(Topology.Env).GetFields().Select(f => (string)f.GetValue(null)!).Order());
    }
}
