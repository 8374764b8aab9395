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
        foreach (var a in PublishArguments(_projectDir, outputDir))
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
        foreach (var leftover in Prune(outputDir))
            Console.Error.WriteLine($"[stedi-cdk] removed {leftover} from the bundle");
        return true;
    }

    /// <summary>
    /// The <c>dotnet publish</c> arguments: Release, linux-arm64, framework-dependent (the managed <c>dotnet10</c>
    /// runtime provides .NET), and nothing the function does not run: no symbols (<c>DebugType=none</c>) and no XML
    /// documentation, neither the projects' own (<c>GenerateDocumentationFile=false</c>) nor the packages'
    /// (<c>PublishReferencesDocumentationFiles=false</c>).
    /// </summary>
    public static IReadOnlyList<string> PublishArguments(string projectDir, string outputDir) =>
    [
        "publish", projectDir, "-c", "Release", "-r", "linux-arm64", "--self-contained", "false", "-o", outputDir, "-nologo",
        "-p:DebugType=none", "-p:DebugSymbols=false", "-p:GenerateDocumentationFile=false",
        "-p:PublishReferencesDocumentationFiles=false", "-p:PublishDocumentationFile=false",
    ];

    /// <summary>Deletes any <c>.pdb</c> or <c>.xml</c> file the publish still left in <paramref name="outputDir"/> (a
    /// package that ships them as content, say); returns their relative paths.</summary>
    public static IReadOnlyList<string> Prune(string outputDir)
    {
        var removed = new List<string>();
        foreach (var f in Directory.EnumerateFiles(outputDir, "*", SearchOption.AllDirectories))
            if (f.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(f);
                removed.Add(Path.GetRelativePath(outputDir, f));
            }
        return removed;
    }
}
