using Amazon.CDK;

namespace Stedi.Cdk;

/// <summary>The three stacks of one stage.</summary>
/// <param name="Storage">Buckets, lake key, queues, index table, customer-key secret, break-glass role.</param>
/// <param name="Catalog">Glue database and tables (partition projection), Athena workgroup, named queries, reader policy.</param>
/// <param name="Ingestion">Functions, event source mappings, IAM, alarms.</param>
public sealed record StediStacks(StorageStack Storage, CatalogStack Catalog, IngestionStack Ingestion);

/// <summary>Builds the stacks into an app; shared by <c>Program</c> and the tests.</summary>
public static class StediApp
{
    /// <summary>CDK feature flags the stacks are written for (see the CDK FEATURE_FLAGS documentation).</summary>
    public static readonly IReadOnlyDictionary<string, object> FeatureFlags = new Dictionary<string, object>
    {
        ["@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"] = true,
        ["@aws-cdk/aws-s3:createDefaultLoggingPolicy"] = true,
        ["@aws-cdk/aws-iam:minimizePolicies"] = true,
        ["@aws-cdk/aws-iam:standardizedServicePrincipals"] = true,
        ["@aws-cdk/aws-sqs:restrictQueuePolicyToSsl"] = true,
        ["@aws-cdk/core:enablePartitionLiterals"] = true,
        ["@aws-cdk/core:checkSecretUsage"] = true,
        ["@aws-cdk/aws-lambda:recognizeLayerVersion"] = true,
        ["@aws-cdk/aws-lambda:recognizeVersionProps"] = true,
    };

    /// <summary>Adds the stacks of the stage named in the app's context.</summary>
    /// <param name="app">The CDK app (its context holds the settings, see <see cref="StediConfig"/>).</param>
    /// <param name="repoRoot">Repository root, for <c>src/Stedi.Functions</c>.</param>
    public static StediStacks Build(App app, string repoRoot)
    {
        // Feature flags live here rather than in cdk.json so that the tests (which build an App without cdk.json)
        // synthesize exactly what `cdk synth` does. Without serverAccessLogsUseBucketPolicy the log bucket would need ACLs.
        foreach (var (flag, value) in FeatureFlags)
            if (app.Node.TryGetContext(flag) is null) app.Node.SetContext(flag, value);

        var config = StediConfig.FromContext(app);
        var prefix = $"Stedi-{config.Stage}";
        var tags = new Dictionary<string, string> { ["project"] = "stedi-lakehouse", ["stage"] = config.Stage };

        var storage = new StorageStack(app, $"{prefix}-Storage", config, new StackProps
        {
            Description = "STEDI lakehouse: lake bucket and key, landing and refresh queues, index table, customer-key secret",
            Tags = tags,
        });
        var catalog = new CatalogStack(app, $"{prefix}-Catalog", config, storage, new StackProps
        {
            Description = "STEDI lakehouse: Glue tables from the domain schema with partition projection, Athena workgroup, named queries, reader policy",
            Tags = tags,
        });
        var ingestion = new IngestionStack(app, $"{prefix}-Ingestion", config, storage, FunctionsCode.Create(config, repoRoot), new StackProps
        {
            Description = "STEDI lakehouse: ingest and refine functions, event source mappings, alarms",
            Tags = tags,
        });
        return new StediStacks(storage, catalog, ingestion);
    }
}
