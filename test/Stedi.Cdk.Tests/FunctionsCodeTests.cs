using Stedi.Cdk;

namespace Stedi.Cdk.Tests;

/// <summary>The function asset: its hash covers what the build reads, and the bundle holds no symbols or XML docs.
/// In the synth collection because <see cref="DotnetPublishBundling"/> is a jsii object: creating one starts the jsii
/// runtime, which must not start twice at once.</summary>
[Collection(SynthCollection.Name)]
public sealed class FunctionsCodeTests
{
    private static readonly string Root = FunctionsCode.FindRepoRoot(AppContext.BaseDirectory);

    [Fact]
    public void The_asset_hash_covers_the_root_build_files_and_every_referenced_project_but_no_build_output()
    {
        var projects = FunctionsCode.ProjectClosure(Root).Select(p => Path.GetFileNameWithoutExtension(p)).Order().ToList();
        Assert.Equal(["Stedi.Deployment", "Stedi.Functions", "Stedi.Lakehouse", "Stedi.Lakehouse.Aws"], projects);
        var inputs = FunctionsCode.BuildInputs(Root);
        Assert.Contains("Directory.Build.props", inputs);
        Assert.Contains("Directory.Packages.props", inputs);
        foreach (var project in projects)
        {
            Assert.Contains($"src/{project}/{project}.csproj", inputs);
            Assert.Contains(inputs, i => i.StartsWith($"src/{project}/", StringComparison.Ordinal) && i.EndsWith(".cs", StringComparison.Ordinal));
        }
        Assert.Contains("src/Stedi.Deployment/Topology.cs", inputs);
        Assert.DoesNotContain(inputs, i => i.Contains("/bin/") || i.Contains("/obj/"));
        Assert.DoesNotContain(inputs, i => i.StartsWith("src/Stedi.Cli/", StringComparison.Ordinal) || i.StartsWith("test/", StringComparison.Ordinal));
        Assert.Matches("^[0-9a-f]{64}$", FunctionsCode.SourceHash(Root));
    }

    [Fact]
    public void The_asset_hash_changes_when_a_root_build_file_changes()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"stedi-hash-{Guid.NewGuid():N}");
        try
        {
            foreach (var rel in FunctionsCode.BuildInputs(Root).Append("StediServerless.sln"))
            {
                var target = Path.Combine(copy, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(Root, rel), target);
            }
            var before = FunctionsCode.SourceHash(copy);
            Assert.Equal(FunctionsCode.SourceHash(Root), before);
            File.AppendAllText(Path.Combine(copy, "Directory.Packages.props"), "\n<!-- a changed package pin -->\n");
            Assert.NotEqual(before, FunctionsCode.SourceHash(copy));
        }
        finally { Directory.Delete(copy, recursive: true); }
    }

    /// <summary>Runs the real bundling once (dotnet publish for linux-arm64, ReadyToRun): about 20 s of CPU.</summary>
    [Fact]
    public void The_bundle_holds_the_functions_and_no_pdb_or_xml_file()
    {
        var output = Path.Combine(Path.GetTempPath(), $"stedi-bundle-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        try
        {
            Assert.True(new DotnetPublishBundling(Path.Combine(Root, FunctionsCode.ProjectPath)).TryBundle(output, null!));
            var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output, f)).ToList();
            Assert.Contains("Stedi.Functions.dll", files);
            Assert.Contains("Stedi.Deployment.dll", files);
            Assert.Contains("Stedi.Functions.runtimeconfig.json", files);
            Assert.DoesNotContain(files, f => f.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".xml", StringComparison.OrdinalIgnoreCase));
        }
        finally { Directory.Delete(output, recursive: true); }
    }

    [Fact]
    public void Prune_removes_leftover_symbols_and_docs()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stedi-prune-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        try
        {
            foreach (var f in new[] { "a.dll", "a.pdb", "a.xml", "sub/b.XML", "a.deps.json" }) File.WriteAllText(Path.Combine(dir, f), "");
            Assert.Equal(["a.pdb", "a.xml", Path.Combine("sub", "b.XML")], DotnetPublishBundling.Prune(dir).Order());
            Assert.Equal(["a.deps.json", "a.dll"], Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
