using System.Text.Json;

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
