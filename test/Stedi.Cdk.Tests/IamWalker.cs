using System.Text.Json;
using System.Text.RegularExpressions;

namespace Stedi.Cdk.Tests;

/// <summary>One IAM policy statement found in a template, with intrinsic functions rendered as text.</summary>
public sealed record PolicyStatementInfo(
    string Template, string PolicyId, string Owner, string Effect,
    IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, bool HasNotAction, bool HasNotResource,
    JsonElement? Condition = null);

/// <summary>
/// Walks every identity and resource policy of a set of CloudFormation templates and judges each Allow statement
/// against the least-privilege rules of issue 4: no wildcard in an action, no "*" resource where the service has
/// resource-level permissions, no S3 object grant on a whole bucket.
/// </summary>
public static partial class IamWalker
{
    /// <summary>
    /// Actions that AWS documents as supporting only <c>"Resource": "*"</c> (no resource-level permissions), so a
    /// narrower resource is impossible. Sources: Service Authorization Reference, "Actions, resources, and condition
    /// keys for Amazon CloudWatch" (PutMetricData: no resource types) and "... for AWS X-Ray" (PutTraceSegments,
    /// PutTelemetryRecords: no resource types). None is used by the stacks today; the list is here so that adding
    /// X-Ray tracing or embedded metrics does not need a weaker test.
    /// </summary>
    public static readonly IReadOnlySet<string> ActionsWithoutResourceLevelPermissions = new HashSet<string>
    {
        "cloudwatch:PutMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    };

    private static readonly Dictionary<string, string> PolicyTypes = new()
    {
        ["AWS::IAM::Policy"] = "PolicyDocument",
        ["AWS::IAM::ManagedPolicy"] = "PolicyDocument",
        ["AWS::SQS::QueuePolicy"] = "PolicyDocument",
        ["AWS::S3::BucketPolicy"] = "PolicyDocument",
        ["AWS::SNS::TopicPolicy"] = "PolicyDocument",
        ["AWS::SecretsManager::ResourcePolicy"] = "ResourcePolicy",
    };

    /// <summary>Every statement of every policy in <paramref name="templates"/> (template file name to JSON).</summary>
    public static IEnumerable<PolicyStatementInfo> Statements(IReadOnlyDictionary<string, JsonElement> templates)
    {
        foreach (var (file, template) in templates)
        {
            if (!template.TryGetProperty("Resources", out var resources)) continue;
            foreach (var resource in resources.EnumerateObject())
            {
                var type = resource.Value.GetProperty("Type").GetString()!;
                if (!resource.Value.TryGetProperty("Properties", out var props)) continue;
                var documents = new List<(string Owner, JsonElement Doc)>();
                if (PolicyTypes.TryGetValue(type, out var docProp) && props.TryGetProperty(docProp, out var doc))
                    documents.Add((OwnerOf(resource.Name, props), doc));
                if (type == "AWS::IAM::Role" && props.TryGetProperty("Policies", out var inline))
                    documents.AddRange(inline.EnumerateArray().Select(p => (resource.Name, p.GetProperty("PolicyDocument"))));
                // The role trust policy (AssumeRolePolicyDocument) grants no permissions; it is not walked.

                foreach (var (owner, document) in documents)
                    foreach (var s in TemplateJson.AsArray(document.GetProperty("Statement")))
                        yield return new PolicyStatementInfo(
                            file, resource.Name, owner, s.GetProperty("Effect").GetString()!,
                            s.TryGetProperty("Action", out var a) ? TemplateJson.AsArray(a).Select(TemplateJson.Render).ToList() : [],
                            s.TryGetProperty("Resource", out var r) ? TemplateJson.AsArray(r).Select(TemplateJson.Render).ToList() : [],
                            s.TryGetProperty("NotAction", out _),
                            s.TryGetProperty("NotResource", out _),
                            s.TryGetProperty("Condition", out var c) ? c : null);
            }
        }
    }

    /// <summary>The violations of the least-privilege rules, one line each; empty when every Allow statement is narrow.</summary>
    public static IReadOnlyList<string> Violations(IReadOnlyDictionary<string, JsonElement> templates)
    {
        var violations = new List<string>();
        foreach (var s in Statements(templates).Where(s => s.Effect == "Allow"))
        {
            var where = $"{s.Template} {s.PolicyId}";
            if (s.HasNotAction) violations.Add($"{where}: Allow with NotAction");
            if (s.HasNotResource) violations.Add($"{where}: Allow with NotResource");
            foreach (var action in s.Actions.Where(a => a.Contains('*') || a.Contains('?')))
                violations.Add($"{where}: wildcard action '{action}'");
            if (s.Resources.Contains("*") && !s.Actions.All(ActionsWithoutResourceLevelPermissions.Contains))
                violations.Add($"{where}: resource '*' for [{string.Join(", ", s.Actions)}], which support narrower resources");
            if (s.Actions.Any(a => a.StartsWith("s3:")))
                foreach (var r in s.Resources.Where(r => WholeBucketObjects().IsMatch(r)))
                    violations.Add($"{where}: S3 object grant on a whole bucket '{r}' (name a prefix)");
        }
        return violations;
    }

    private static string OwnerOf(string policyId, JsonElement props) =>
        props.TryGetProperty("Roles", out var roles) && roles.GetArrayLength() > 0 && roles[0].TryGetProperty("Ref", out var role)
            ? role.GetString()!
            : policyId;

    // "<bucket ARN>/*": a bucket ARN (literal or a rendered ${...} reference) followed directly by "/*".
    [GeneratedRegex(@"^(arn:[^:]+:s3:::[^/]+|\$\{[^}]+\})/\*$")]
    private static partial Regex WholeBucketObjects();
}
