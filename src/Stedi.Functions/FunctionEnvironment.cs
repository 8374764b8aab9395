using Stedi.Deployment;
using Stedi.Lakehouse;
using Stedi.Lakehouse.Aws;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Schema;

namespace Stedi.Functions;

/// <summary>
/// Function configuration from environment variables, validated at start-up:
/// <c>STEDI_LAKE_BUCKET</c>, <c>STEDI_INDEX_TABLE</c>, <c>STEDI_REFRESH_QUEUE_URL</c>, <c>STEDI_GLUE_DATABASE</c> (required);
/// <c>STEDI_PROFILE</c> (<c>strict</c> default, or <c>rubric</c>); <c>STEDI_SOURCE</c> (ingest functions: the one landing
/// source this function serves; keys of other sources are ignored); <c>STEDI_MAX_OBJECT_BYTES</c> (largest object one
/// invocation ingests); <c>STEDI_TIME_WINDOW_MIN</c> and <c>STEDI_TIME_WINDOW_MAX</c> (plausible reading and update
/// times: ISO 8601 dates or date-times in UTC, epoch milliseconds, or <c>now±Nd</c>; default 2015-01-01 to now + 1 day);
/// <c>STEDI_DATA_SUFFIXES</c> (comma-separated name endings of data objects; default <c>.json,.jsonl,.ndjson</c> and
/// their <c>.gz</c> forms); <c>AWS_REGION</c>; <c>STEDI_ENDPOINT_URL</c> (one endpoint for every service, e.g. moto).
/// </summary>
/// <param name="Lake">AWS names and endpoint.</param>
/// <param name="Options">Lake options (profile, object size limit, temp folder).</param>
/// <param name="Source">The source an ingest function serves, or null for any.</param>
public sealed record FunctionEnvironment(AwsLakeConfig Lake, LakeOptions Options, LandingSource? Source)
{
    /// <summary>
    /// The check that this function's profile is the lake bucket's (<see cref="LakeBucketProfile"/>); the first function
    /// to write records it. <paramref name="createdBy"/> defaults to <c>AWS_LAMBDA_FUNCTION_NAME</c>.
    /// </summary>
    public LakeBucketProfile ProfileCheck(Amazon.S3.IAmazonS3 s3, string? createdBy = null) =>
        new(s3, Lake.Bucket, Options.Profile, createdBy ?? Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_NAME") ?? "Stedi.Functions");

    /// <summary>Reads and validates the environment.</summary>
    /// <exception cref="InvalidOperationException">Names every missing or invalid variable at once.</exception>
    public static FunctionEnvironment FromEnvironment(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        var errors = new List<string>();
        string Required(string name)
        {
            var v = get(name);
            if (string.IsNullOrWhiteSpace(v)) { errors.Add($"{name} is not set"); return ""; }
            return v;
        }
        var bucket = Required(Topology.Env.LakeBucket);
        var table = Required(Topology.Env.IndexTable);
        var queue = Required(Topology.Env.RefreshQueueUrl);
        // The Glue database only names where the stack put the tables; the functions make no catalog call.
        var db = get(Topology.Env.GlueDatabase) ?? "";
        var secret = Required(Topology.Env.CustomerKeySecretId);
        var profile = ConsentProfile.Strict;
        var p = get(Topology.Env.Profile);
        if (!string.IsNullOrEmpty(p) && !Enum.TryParse(p, true, out profile)) errors.Add($"STEDI_PROFILE must be strict or rubric, not '{p}'");
        LandingSource? source = null;
        var s = get(Topology.Env.Source);
        if (!string.IsNullOrEmpty(s))
        {
            source = LandingSource.All.FirstOrDefault(x => x.Name == s);
            if (source is null) errors.Add($"STEDI_SOURCE must be customer, accelerometer or step_trainer, not '{s}'");
        }
        var max = long.MaxValue;
        var m = get(Topology.Env.MaxObjectBytes);
        if (!string.IsNullOrEmpty(m) && (!long.TryParse(m, out max) || max <= 0)) errors.Add($"STEDI_MAX_OBJECT_BYTES must be a positive number of bytes, not '{m}'");
        var options = WithIngestSettings(new LakeOptions { Profile = profile, MaxObjectBytes = max, TempDirectory = Path.GetTempPath() }, get, errors);
        if (errors.Count > 0) throw new InvalidOperationException("function configuration is invalid: " + string.Join("; ", errors));
        var region = get("AWS_REGION") ?? "us-east-1";
        return new FunctionEnvironment(new AwsLakeConfig(bucket, table, queue, db, region, get("STEDI_ENDPOINT_URL"), secret), options, source);
    }

    /// <summary>
    /// The data engineer's ingest settings from the environment, applied to <paramref name="options"/>:
    /// <see cref="Topology.Env.TimeWindowMin"/>, <see cref="Topology.Env.TimeWindowMax"/> and
    /// <see cref="Topology.Env.DataSuffixes"/> (unset or empty: the defaults). Shared by the functions and the CLI.
    /// </summary>
    /// <param name="options">The options to change.</param>
    /// <param name="get">Reads one variable.</param>
    /// <param name="errors">Receives one message per invalid variable, naming it, its value and the forms accepted.</param>
    public static LakeOptions WithIngestSettings(LakeOptions options, Func<string, string?> get, ICollection<string> errors)
    {
        string? min = get(Topology.Env.TimeWindowMin), max = get(Topology.Env.TimeWindowMax);
        if (!string.IsNullOrWhiteSpace(min) || !string.IsNullOrWhiteSpace(max))
        {
            var ok = true;
            foreach (var (name, value) in new[] { (Topology.Env.TimeWindowMin, min), (Topology.Env.TimeWindowMax, max) })
            {
                if (string.IsNullOrWhiteSpace(value)) continue;
                try { TimeWindow.ParseBound(value); }
                catch (FormatException) { errors.Add($"{name} must be {TimeWindow.BoundForms}, not '{value}'"); ok = false; }
            }
            if (ok)
            {
                try { options = options with { TimeWindow = TimeWindow.Parse(min, max) }; }
                catch (FormatException e) { errors.Add($"{Topology.Env.TimeWindowMin} and {Topology.Env.TimeWindowMax}: {e.Message}"); }
            }
        }
        var suffixes = get(Topology.Env.DataSuffixes);
        if (!string.IsNullOrWhiteSpace(suffixes))
        {
            try { options = options with { DataSuffixes = LakeOptions.ParseDataSuffixes(suffixes) }; }
            catch (FormatException e) { errors.Add($"{Topology.Env.DataSuffixes} must be a comma-separated list of name endings such as .json,.jsonl,.json.gz: {e.Message}"); }
        }
        return options;
    }
}
