using System.Text.RegularExpressions;
using Amazon.CDK;
using Constructs;
using Stedi.Deployment;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk;

/// <summary>
/// Deployment settings read from CDK context (<c>-c key=value</c> or <c>cdk.json</c>), with defaults.
/// </summary>
/// <param name="Stage">Stage name (lower-case letters, digits, '-'; at most 12 chars), e.g. <c>dev</c> or <c>prod</c>. Context <c>stage</c>, default <c>dev</c>.</param>
/// <param name="Profile">Consent profile of the published tables. Context <c>profile</c> (<c>strict</c>|<c>rubric</c>), default <c>strict</c>.</param>
/// <param name="LakeBucketName">Explicit lake bucket name (context <c>lakeBucketName</c>), or null for <c>stedi-lake-&lt;stage&gt;-&lt;account&gt;-&lt;region&gt;</c>.</param>
/// <param name="ResultsBucketName">Explicit Athena results bucket name (context <c>resultsBucketName</c>), or null for a generated one.</param>
/// <param name="FunctionsAsset">A folder holding an already published <c>Stedi.Functions</c> (context <c>functionsAsset</c> or env <c>STEDI_FUNCTIONS_ASSET</c>), or null to run <c>dotnet publish</c> during synth.</param>
/// <param name="AlarmEmail">Optional e-mail address subscribed to the alarm topic (context <c>alarmEmail</c>).</param>
public sealed partial record StediConfig(
    string Stage,
    ConsentProfile Profile,
    string? LakeBucketName,
    string? ResultsBucketName,
    string? FunctionsAsset,
    string? AlarmEmail)
{
    /// <summary>The three landing sources, as named in S3 prefixes and in <c>STEDI_SOURCE</c> (<see cref="Topology.Sources"/>).</summary>
    public static IReadOnlyList<string> Sources => Topology.Sources;

    /// <summary>True for the production stage: data is retained on stack deletion and the index table is deletion-protected.</summary>
    public bool IsProduction => Stage == "prod";

    /// <summary>Glue database name (<c>stedi_&lt;stage&gt;</c>; Glue names are lower-case with underscores).</summary>
    public string GlueDatabaseName => $"stedi_{Stage.Replace('-', '_')}";

    /// <summary>Athena workgroup name.</summary>
    public string WorkGroupName => $"stedi-{Stage}";

    /// <summary>Profile as the lower-case word used in <c>STEDI_PROFILE</c>.</summary>
    public string ProfileName => Profile.ToString().ToLowerInvariant();

    /// <summary>Reads the settings from the context of <paramref name="scope"/>.</summary>
    /// <exception cref="ArgumentException">A context value is malformed.</exception>
    public static StediConfig FromContext(Construct scope)
    {
        string? Ctx(string key) => scope.Node.TryGetContext(key) is { } v && v.ToString() is { Length: > 0 } s ? s : null;

        var stage = Ctx("stage") ?? "dev";
        if (!StageRegex().IsMatch(stage))
            throw new ArgumentException($"context 'stage' must match {StageRegex()}, got '{stage}'");

        var profile = (Ctx("profile") ?? "strict").ToLowerInvariant() switch
        {
            "strict" => ConsentProfile.Strict,
            "rubric" => ConsentProfile.Rubric,
            var other => throw new ArgumentException($"context 'profile' must be strict or rubric, got '{other}'"),
        };

        var asset = Ctx("functionsAsset") ?? NonEmpty(System.Environment.GetEnvironmentVariable("STEDI_FUNCTIONS_ASSET"));
        return new StediConfig(stage, profile, Ctx("lakeBucketName"), Ctx("resultsBucketName"), asset, Ctx("alarmEmail"));
    }

    /// <summary>The lake bucket name: explicit, or derived from stage, account and region (globally unique, and known
    /// before the bucket exists, which lets the landing queues' policies name the bucket without a reference cycle).</summary>
    public string LakeBucket => LakeBucketName ?? $"stedi-lake-{Stage}-{Aws.ACCOUNT_ID}-{Aws.REGION}";

    /// <summary>The Athena results bucket name: explicit or derived like <see cref="LakeBucket"/>.</summary>
    public string ResultsBucket => ResultsBucketName ?? $"stedi-athena-{Stage}-{Aws.ACCOUNT_ID}-{Aws.REGION}";

    /// <summary>The role name of a pipeline function (<c>ingest-customer</c>, ..., <c>refine</c>) or of the break-glass role:
    /// <c>stedi-&lt;stage&gt;-&lt;function&gt;-&lt;region&gt;</c>. Deterministic, so that the lake bucket policy and the customer-key
    /// secret's policy (Storage stack) can name the roles of the Ingestion stack without a reference (which would be a
    /// cycle: the Ingestion stack already depends on the Storage stack). The region keeps two regions of one account
    /// apart (IAM names are global); at most 6 + 12 + 20 + 15 characters, under IAM's 64.</summary>
    public string RoleName(string function) => $"stedi-{Stage}-{function}-{Aws.REGION}";

    /// <summary>The ARN of a role named by <see cref="RoleName"/>.</summary>
    public string RoleArn(string function) => $"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{RoleName(function)}";

    /// <summary>The role-name part of an ingest function of <paramref name="source"/>: <c>ingest-step-trainer</c>.</summary>
    public static string IngestFunction(string source) => $"ingest-{source.Replace('_', '-')}";

    /// <summary>The role-name part of the refine function.</summary>
    public const string RefineFunction = "refine";

    /// <summary>The role-name part of the break-glass role.</summary>
    public const string BreakGlass = "break-glass";

    /// <summary>The role-name parts of the four pipeline functions (three ingest, one refine).</summary>
    public static IReadOnlyList<string> PipelineFunctions => [.. Sources.Select(IngestFunction), RefineFunction];

    /// <summary>ARNs of the four pipeline roles: the only principals that read the customer-key secret and, with the
    /// break-glass role, the raw zones of the lake.</summary>
    public IReadOnlyList<string> PipelineRoleArns => PipelineFunctions.Select(RoleArn).ToList();

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    [GeneratedRegex("^[a-z][a-z0-9-]{0,11}$")]
    private static partial Regex StageRegex();
}
