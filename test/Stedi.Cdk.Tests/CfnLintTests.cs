using System.Diagnostics;

namespace Stedi.Cdk.Tests;

/// <summary>Runs cfn-lint (CloudFormation's linter, preinstalled here; elsewhere <c>pip install cfn-lint</c>) on the
/// synthesized templates. Exit code bits: 2 = errors, 4 = warnings, 8 = informational; 1 = cfn-lint itself failed.</summary>
[Collection(SynthCollection.Name)]
public sealed class CfnLintTests(SynthFixture synth)
{
    public static TheoryData<string> Configurations => ["strict", "rubric", "prod"];

    private SynthesizedApp App(string name) => name switch { "rubric" => synth.Rubric, "prod" => synth.Prod, _ => synth.Strict };

    [Theory, MemberData(nameof(Configurations))]
    public void Cfn_lint_reports_no_errors_on_the_synthesized_templates(string configuration)
    {
        var templates = Directory.GetFiles(App(configuration).OutDir, "*.template.json");
        Assert.Equal(3, templates.Length);
        var (code, output) = CfnLint(templates);
        Assert.True(code != 1 && (code & 2) == 0, $"cfn-lint exit {code}:\n{output}");
    }

    [Fact]
    public void Cfn_lint_fails_a_broken_template()
    {
        var file = Path.Combine(Path.GetTempPath(), $"stedi-broken-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "soon", "NoSuchProperty": 1}}}}""");
        try
        {
            var (code, _) = CfnLint([file]);
            Assert.NotEqual(0, code & 2);
        }
        finally { File.Delete(file); }
    }

    private static (int Code, string Output) CfnLint(IEnumerable<string> files)
    {
        var psi = new ProcessStartInfo("cfn-lint") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--format");
        psi.ArgumentList.Add("parseable");
        foreach (var f in files) psi.ArgumentList.Add(f);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
