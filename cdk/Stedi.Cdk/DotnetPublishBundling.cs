using System.Diagnostics;
using Amazon.CDK;
using Amazon.JSII.Runtime.Deputy;

namespace Stedi.Cdk;

/// <summary>
/// Builds the Lambda code without Docker: runs <c>dotnet publish</c> of <c>src/Stedi.Functions</c> for linux-arm64
/// straight into the asset's output folder. It derives from <see cref="DeputyBase"/> because jsii only calls back
/// into .NET objects it knows as deputies; a plain class implementing <see cref="ILocalBundling"/> is never invoked and
/// CDK silently falls back to Docker bundling.
/// </summary>
public sealed class DotnetPublishBundling : DeputyBase, ILocalBundling
{
    private readonly string _projectDir;

    /// <summary>Creates the bundler.</summary>
    /// <param name="projectDir">Absolute path of the folder holding <c>Stedi.Functions.csproj</c>.</param>
    public DotnetPublishBundling(string projectDir) => _projectDir = projectDir;

    /// <summary>Publishes the functions into <paramref name="outputDir"/>.</summary>
    /// <returns>True when the publish succeeded.</returns>
    /// <exception cref="InvalidOperationException">dotnet publish failed; the message carries its output.</exception>
    public bool TryBundle(string outputDir, IBundlingOptions options)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "publish", _projectDir, "-c", "Release", "-r", "linux-arm64", "--self-contained", "false", "-o", outputDir, "-nologo" })
            psi.ArgumentList.Add(a);
        // The CDK app itself runs under `dotnet run`; keep the nested build from reusing or leaving MSBuild nodes behind.
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        Console.Error.WriteLine($"[stedi-cdk] dotnet publish {_projectDir} -> {outputDir}");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish failed ({p.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
        return true;
    }
}
