using System.Text.Json;
using System.Text.RegularExpressions;
using Stedi.Cdk;

namespace Stedi.Cdk.Tests;

[Collection(SynthCollection.Name)]
public sealed class IamTests(SynthFixture synth)
{
    public static TheoryData<string> Configurations => ["strict", "rubric", "prod"];

    private SynthesizedApp App(string name) => name switch { "rubric" => synth.Rubric, "prod" => synth.Prod, _ => synth.Strict };

    [Theory, MemberData(nameof(Configurations))]
    public void No_policy_in_any_template_allows_a_wildcard_action_or_a_needlessly_wide_resource(string configuration)
    {
        var templates = App(configuration).TemplateJson;
        Assert.Equal(3, templates.Count);
        // Guard against a walker that silently finds nothing.
        Assert.True(IamWalker.Statements(templates).Count(s => s.Effect == "Allow") > 20);
        Assert.Empty(IamWalker.Violations(templates));
    }

    private static readonly string[] FunctionRolePrefixes = ["IngestCustomerRole", "IngestAccelerometerRole", "IngestStepTrainerRole", "RefineRole"];

    private List<PolicyStatementInfo> FunctionRoleStatements(string rolePrefix) =>
        IamWalker.Statements(synth.Strict.TemplateJson).Where(s => s.Owner.StartsWith(rolePrefix, StringComparison.Ordinal)).ToList();

    [Fact]
    public void Every_function_role_may_list_the_lake_bucket_without_a_prefix_condition()
    {
        // A GET or HEAD of a missing key answers 404 only to a caller allowed s3:ListBucket on the bucket (else 403),
        // and the request carries no s3:prefix, so a prefix condition would turn every miss into AccessDenied.
        var lake = synth.Strict.Storage.Resources("AWS::S3::Bucket").Single(b => b.Props.TryGetProperty("NotificationConfiguration", out _)).Id;
        foreach (var prefix in FunctionRolePrefixes)
        {
            var list = Assert.Single(FunctionRoleStatements(prefix), s => s.Actions.Contains("s3:ListBucket"));
            Assert.Equal("Allow", list.Effect);
            Assert.Equal(["s3:ListBucket"], list.Actions);
            var resource = Assert.Single(list.Resources);
            Assert.Contains(lake, resource);
            Assert.DoesNotContain("/", resource.Replace("}/", "}"));   // the bucket, not its objects
            Assert.Null(list.Condition);
        }
    }

    /// <summary>
    /// The only actions a function role may hold, each with the call that needs it (S3ObjectStore, the DynamoDB index
    /// adapters, SqsWorkQueue, the customer-key secret, Lambda's SQS poller, the Lambda runtime's logging). An action
    /// added to a role without an entry here fails the build; so does an entry no role holds.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> AllowedFunctionActions = new Dictionary<string, string>
    {
        ["logs:CreateLogStream"] = "Lambda runtime: the function's log stream",
        ["logs:PutLogEvents"] = "Lambda runtime: the function's log lines",
        ["s3:ListBucket"] = "ListObjectsV2; and a missing key answers 404, not 403",
        ["s3:GetObject"] = "GetObject and HeadObject",
        ["s3:GetObjectVersion"] = "GetObject with a VersionId (ingest reads the version HEAD returned)",
        ["s3:PutObject"] = "PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload",
        ["s3:DeleteObject"] = "DeleteObject (retractions, replaced staged objects, compaction)",
        ["s3:AbortMultipartUpload"] = "AbortMultipartUpload after a failed part",
        ["kms:Decrypt"] = "S3 reads of SSE-KMS objects (and completing a multipart upload)",
        ["kms:GenerateDataKey"] = "S3 writes of SSE-KMS objects",
        ["dynamodb:GetItem"] = "index: one item",
        ["dynamodb:PutItem"] = "index: ledger, outcomes, conditional writes",
        ["dynamodb:UpdateItem"] = "index: pending marks, counters",
        ["dynamodb:DeleteItem"] = "index: ledger entries and facts of deleted objects",
        ["dynamodb:BatchGetItem"] = "index: many items by key",
        ["dynamodb:BatchWriteItem"] = "index: customer versions and membership facts",
        ["dynamodb:Query"] = "index: the items of one partition key (customer versions, partition members)",
        ["dynamodb:Scan"] = "index: ListLedger / ListOutcomes",
        ["sqs:SendMessage"] = "SendMessage and SendMessageBatch to the refresh queue (one IAM action for both)",
        ["secretsmanager:GetSecretValue"] = "the HMAC key of customer keys",
        ["sqs:ReceiveMessage"] = "the event source mapping polls the function's own queue",
        ["sqs:DeleteMessage"] = "the event source mapping deletes processed messages",
        ["sqs:GetQueueAttributes"] = "the event source mapping reads its queue's attributes",
    };

    [Fact]
    public void Function_roles_hold_exactly_the_allow_listed_actions_and_ingest_alone_reads_object_versions()
    {
        var all = new HashSet<string>();
        foreach (var prefix in FunctionRolePrefixes)
        {
            var statements = FunctionRoleStatements(prefix);
            Assert.All(statements, s => Assert.Equal("Allow", s.Effect));
            var actions = statements.SelectMany(s => s.Actions).ToHashSet();
            Assert.Subset(AllowedFunctionActions.Keys.ToHashSet(), actions);
            all.UnionWith(actions);
            var expected = AllowedFunctionActions.Keys.Where(a => prefix != "RefineRole" || a != "s3:GetObjectVersion");
            Assert.Equal(expected.Order(), actions.Order());
        }
        Assert.Equal(AllowedFunctionActions.Keys.Order(), all.Order());
        Assert.DoesNotContain(all, a => a.StartsWith("glue:") || a.StartsWith("ssm:") || a == "sqs:GetQueueUrl"
            || a == "sqs:ChangeMessageVisibility" || a == "dynamodb:DescribeTable" || a == "dynamodb:ConditionCheckItem");
    }

    /// <summary>
    /// Every S3 object call the engine makes through <c>IObjectStore</c> in a function (Ingestor for one source,
    /// Refiner), as the object grants it needs: per action, exactly the key patterns under the lake bucket — nothing
    /// more, nothing less. Each entry names the calls behind it.
    /// </summary>
    public static SortedDictionary<string, SortedSet<string>> ExpectedObjectGrants(string rolePrefix)
    {
        var grants = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        void Grant(string action, params string[] patterns)
        {
            if (!grants.TryGetValue(action, out var set)) grants[action] = set = new SortedSet<string>(StringComparer.Ordinal);
            set.UnionWith(patterns);
        }
        // LakeBucketProfile.EnsureAsync, every function before its first write: GET of the bucket's profile record, and
        // its conditional PUT (If-None-Match: *) when the bucket has none yet (one small object: never multipart).
        Grant("s3:GetObject", "lake.json");
        Grant("s3:PutObject", "lake.json");
        if (rolePrefix == "RefineRole")
        {
            // StagedReader: GET of each listed staged object, compaction manifest and compacted object (any source);
            // RefineContext.PublishedAsync: GET of an upstream partition with rows; Refiner: HEAD of its own unchanged
            // output, GET of the previous detail.
            Grant("s3:GetObject", "staged/*", "trusted/*", "curated/*", "refine/*");
            // Refiner.WriteOutputAsync (PUT, or DELETE of an emptied partition; a sliced partition is a spilled file,
            // multipart); StagedReader.CompactAsync (PUT of compact-<hash>.parquet/.json, DELETE of older ones);
            // Refiner: PUT of the detail, DELETE of the one it replaces (a few KB: never multipart).
            Grant("s3:PutObject", "trusted/*", "curated/*", "staged/*/compact-*", "refine/*");
            Grant("s3:DeleteObject", "trusted/*", "curated/*", "staged/*/compact-*", "refine/*");
            Grant("s3:AbortMultipartUpload", "trusted/*", "curated/*", "staged/*/compact-*");
            return grants;
        }
        var source = StediConfig.Sources.Single(s => rolePrefix == $"Ingest{StorageStack.Pascal(s)}Role");
        // Ingestor.IngestAsync: HEAD of the landing object, GET of the version HEAD returned; the previous manifest.
        Grant("s3:GetObject", $"{source}/landing/*", $"manifests/{source}/*");
        Grant("s3:GetObjectVersion", $"{source}/landing/*");
        // Ingestor.StagedVersionsAsync: a replaced or deleted customer file's customer versions are read back from the
        // previous version's staged objects.
        if (source == "customer") Grant("s3:GetObject", "staged/customer/*");
        // PartitionSpool/QuarantineSpool uploads (spilled files: multipart), the manifest (one PUT); DELETE of stale
        // staged objects, of a retracted object's quarantine and manifest.
        Grant("s3:PutObject", $"staged/{source}/*", $"quarantine/{source}/*", $"manifests/{source}/*");
        Grant("s3:DeleteObject", $"staged/{source}/*", $"quarantine/{source}/*", $"manifests/{source}/*");
        Grant("s3:AbortMultipartUpload", $"staged/{source}/*", $"quarantine/{source}/*");
        return grants;
    }

    [Fact]
    public void Each_function_role_holds_exactly_the_object_grants_its_engine_calls_need()
    {
        foreach (var prefix in FunctionRolePrefixes)
        {
            var actual = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
            foreach (var s in FunctionRoleStatements(prefix))
                foreach (var a in s.Actions.Where(a => a.StartsWith("s3:") && a != "s3:ListBucket"))
                    foreach (var r in s.Resources)
                    {
                        Assert.Contains("Lake", r);   // the lake bucket (an import of the Storage stack)
                        (actual.TryGetValue(a, out var set) ? set : actual[a] = new SortedSet<string>(StringComparer.Ordinal)).Add(Tail(r));
                    }
            var expected = ExpectedObjectGrants(prefix);
            Assert.True(expected.Count == actual.Count && expected.All(e => actual.TryGetValue(e.Key, out var v) && v.SetEquals(e.Value)),
                $"{prefix}: expected {Show(expected)}, template {Show(actual)}");
        }
        static string Show(SortedDictionary<string, SortedSet<string>> g) => string.Join("; ", g.Select(e => $"{e.Key} [{string.Join(", ", e.Value)}]"));
    }

    [Fact]
    public void The_raw_zone_deny_exempts_every_role_that_reads_a_raw_zone()
    {
        // The bucket policy denies raw-zone reads to everyone else; a role granted a read there must be exempt, or its
        // read would be AccessDenied whatever its identity policy says (an explicit deny wins).
        var deny = IamWalker.Statements(synth.Strict.TemplateJson).Single(s => s.Effect == "Deny" && s.Actions.Contains("s3:GetObject") && s.Resources.Any(r => r.Contains("/staged/")));
        var zones = deny.Resources.Select(Tail).ToList();
        var exempt = TemplateJson.AsArray(deny.Condition!.Value.GetProperty("ArnNotEquals").GetProperty("aws:PrincipalArn")).Select(TemplateJson.Render).ToHashSet();
        var readers = 0;
        foreach (var prefix in FunctionRolePrefixes)
        {
            var reads = ExpectedObjectGrants(prefix).Where(g => g.Key is "s3:GetObject" or "s3:GetObjectVersion").SelectMany(g => g.Value);
            if (!reads.Any(r => zones.Any(z => r.StartsWith(z.TrimEnd('*'), StringComparison.Ordinal)))) continue;
            readers++;
            Assert.Contains(Assert.Single(StorageStackTests.RoleArnsOfNamedRoles(synth.Strict, prefix)), exempt);
        }
        Assert.Equal(FunctionRolePrefixes.Length, readers); // every function reads a raw zone: ingest its landing, refine staged/
    }

    // "${Lake...}/staged/customer/*" -> "staged/customer/*"
    private static string Tail(string resource) => resource[(resource.IndexOf("}/", StringComparison.Ordinal) + 2)..];

    /// <summary>SDK operations (by their .NET method name without "Async") and the IAM action each needs.</summary>
    private static readonly IReadOnlyDictionary<string, string> SdkOperations = new Dictionary<string, string>
    {
        ["GetObject"] = "s3:GetObject", ["GetObjectMetadata"] = "s3:GetObject", ["PutObject"] = "s3:PutObject",
        ["DeleteObject"] = "s3:DeleteObject", ["DeleteObjects"] = "s3:DeleteObject", ["ListObjectsV2"] = "s3:ListBucket",
        ["ListObjects"] = "s3:ListBucket", ["ListVersions"] = "s3:ListBucketVersions", ["CopyObject"] = "s3:PutObject",
        ["InitiateMultipartUpload"] = "s3:PutObject", ["UploadPart"] = "s3:PutObject", ["CompleteMultipartUpload"] = "s3:PutObject",
        ["AbortMultipartUpload"] = "s3:AbortMultipartUpload", ["ListParts"] = "s3:ListMultipartUploadParts",
        ["GetItem"] = "dynamodb:GetItem", ["PutItem"] = "dynamodb:PutItem", ["UpdateItem"] = "dynamodb:UpdateItem",
        ["DeleteItem"] = "dynamodb:DeleteItem", ["BatchGetItem"] = "dynamodb:BatchGetItem", ["BatchWriteItem"] = "dynamodb:BatchWriteItem",
        ["Query"] = "dynamodb:Query", ["Scan"] = "dynamodb:Scan", ["TransactWriteItems"] = "dynamodb:TransactWriteItems",
        ["TransactGetItems"] = "dynamodb:TransactGetItems", ["DescribeTable"] = "dynamodb:DescribeTable",
        ["SendMessage"] = "sqs:SendMessage", ["SendMessageBatch"] = "sqs:SendMessage", ["GetQueueAttributes"] = "sqs:GetQueueAttributes",
        ["GetQueueUrl"] = "sqs:GetQueueUrl", ["GetSecretValue"] = "secretsmanager:GetSecretValue",
    };

    [Fact]
    public void Every_AWS_call_in_the_adapters_and_functions_is_allowed_to_the_function_roles()
    {
        var root = FunctionsCode.FindRepoRoot(AppContext.BaseDirectory);
        var granted = FunctionRolePrefixes.SelectMany(FunctionRoleStatements).SelectMany(s => s.Actions).ToHashSet();
        var calls = new SortedSet<string>();
        foreach (var dir in new[] { "src/Stedi.Lakehouse.Aws", "src/Stedi.Functions" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, dir), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")))
                foreach (Match m in Regex.Matches(File.ReadAllText(file), @"\.(\w+)Async\(|Paginators\.(\w+)\("))
                {
                    var op = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
                    if (SdkOperations.ContainsKey(op)) calls.Add(op);
                }
        Assert.Contains("GetObject", calls); // guard against a scan that finds nothing
        Assert.All(calls, op => Assert.True(granted.Contains(SdkOperations[op]), $"{op} needs {SdkOperations[op]}, which no function role holds"));
    }

    [Fact]
    public void Only_the_pipeline_the_break_glass_role_and_the_Athena_readers_may_decrypt_lake_objects_and_only_through_S3()
    {
        var decrypt = IamWalker.Statements(synth.Strict.TemplateJson).Where(s => s.Effect == "Allow" && s.Actions.Any(a => a.StartsWith("kms:"))).ToList();
        var owners = decrypt.Select(s => s.Owner).Distinct().Select(o => o[..^8]).Order().ToList();
        Assert.Equal(["AthenaReader", "BreakGlass", "IngestAccelerometerRole", "IngestCustomerRole", "IngestStepTrainerRole", "RefineRole"], owners);
        var key = synth.Strict.Storage.Resources("AWS::KMS::Key").Single().Id;
        Assert.All(decrypt, s =>
        {
            Assert.Contains(key, Assert.Single(s.Resources));
            var via = s.Condition!.Value.GetProperty("StringEquals").GetProperty("kms:ViaService");
            Assert.Equal("s3.${AWS::Region}.amazonaws.com", TemplateJson.Render(via));
            Assert.Contains("kms:Decrypt", s.Actions);
        });
        // Only the pipeline writes: readers and break-glass cannot generate data keys.
        Assert.All(decrypt.Where(s => s.Owner.StartsWith("AthenaReader") || s.Owner.StartsWith("BreakGlass")),
            s => Assert.Equal(["kms:Decrypt"], s.Actions));
    }

    [Fact]
    public void No_role_carries_an_AWS_managed_policy()
    {
        foreach (var (file, template) in synth.Strict.TemplateJson)
            foreach (var r in template.GetProperty("Resources").EnumerateObject().Where(r => r.Value.GetProperty("Type").GetString() == "AWS::IAM::Role"))
                Assert.False(r.Value.GetProperty("Properties").TryGetProperty("ManagedPolicyArns", out _), $"{file} {r.Name}");
    }

    [Fact]
    public void The_walker_flags_wildcard_actions_star_resources_and_whole_bucket_grants()
    {
        const string bad = """
        {"Resources": {
          "P": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "R"}], "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/staged/*"},
            {"Effect": "Allow", "Action": ["s3:GetObject*"], "Resource": "arn:aws:s3:::b/staged/*"},
            {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/x/*"},
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Lake", "Arn"]}, "/*"]]}},
            {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
          ]}}},
          "R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "i", "PolicyDocument": {"Statement":
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:eu-west-1:1:q"}}}]}}
        }}
        """;
        var violations = IamWalker.Violations(new Dictionary<string, JsonElement> { ["bad.json"] = JsonDocument.Parse(bad).RootElement });
        Assert.Equal(6, violations.Count);
        Assert.Contains(violations, v => v.Contains("'s3:*'"));
        Assert.Contains(violations, v => v.Contains("'s3:GetObject*'"));
        Assert.Contains(violations, v => v.Contains("wildcard action '*'"));
        Assert.Contains(violations, v => v.Contains("resource '*' for [dynamodb:GetItem]"));
        Assert.Contains(violations, v => v.Contains("whole bucket '${Lake.Arn}/*'"));
        Assert.Contains(violations, v => v.Contains("'sqs:*'"));
    }
}
