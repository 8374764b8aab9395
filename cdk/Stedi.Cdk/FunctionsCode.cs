using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;

namespace Stedi.Cdk;

/// <summary>Where the Lambda code comes from: a prebuilt folder, or <c>dotnet publish</c> of <c>src/Stedi.Functions</c> during synth.</summary>
public static class FunctionsCode
{
    /// <summary>Relative path of the functions project from the repository root.</summary>
    public const string ProjectPath = "src/Stedi.Functions";

    /// <summary>Files at the repository root that every project's build reads (MSBuild imports them implicitly, and
    /// the SDK and package sources come from the last two); those that exist are hashed.</summary>
    public static readonly IReadOnlyList<string> RootBuildInputs =
        ["Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json", "NuGet.config", "nuget.config"];

    /// <summary>
    /// The code asset. With <see cref="StediConfig.FunctionsAsset"/> set, that folder is used as is (tests, CI
    /// artefacts). Otherwise the asset is built by <see cref="DotnetPublishBundling"/> (no Docker; the image named
    /// below is never pulled), and its hash is <see cref="SourceHash"/>: every file the build reads, so an unchanged
    /// tree is not rebuilt and any change that could change the bundle is.
    /// </summary>
    /// <exception cref="InvalidOperationException">No prebuilt folder given and <c>src/Stedi.Functions</c> has no project file.</exception>
    public static Code Create(StediConfig config, string repoRoot)
    {
        if (config.FunctionsAsset is { } prebuilt)
        {
            var full = Path.GetFullPath(prebuilt);
            if (!Directory.Exists(full))
                throw new InvalidOperationException($"functionsAsset folder '{full}' does not exist");
            return Code.FromAsset(full);
        }

        var project = Path.Combine(repoRoot, ProjectPath);
        if (!File.Exists(Path.Combine(project, "Stedi.Functions.csproj")))
            throw new InvalidOperationException(
                $"{project}/Stedi.Functions.csproj not found; publish the functions elsewhere and pass -c functionsAsset=<folder> (or STEDI_FUNCTIONS_ASSET)");

        return Code.FromAsset(Path.Combine(repoRoot, "src"), new Amazon.CDK.AWS.S3.Assets.AssetOptions
        {
            // A custom hash: CDK's SOURCE hash would cover only the asset folder (src/), not Directory.*.props at the
            // root, so a changed package version or build property would reuse a stale bundle.
            AssetHashType = AssetHashType.CUSTOM,
            AssetHash = SourceHash(repoRoot),
            Bundling = new BundlingOptions
            {
                // Required by the API; unused because local bundling always succeeds or throws.
                Image = DockerImage.FromRegistry("public.ecr.aws/sam/build-dotnet8"),
                Local = new DotnetPublishBundling(project),
            },
        });
    }

    /// <summary>The project files of <c>Stedi.Functions</c> and of every project it references, transitively
    /// (from their <c>ProjectReference</c> items), as full paths, ordered.</summary>
    public static IReadOnlyList<string> ProjectClosure(string repoRoot)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(Path.GetFullPath(Path.Combine(repoRoot, ProjectPath, "Stedi.Functions.csproj")));
        while (pending.Count > 0)
        {
            var csproj = pending.Pop();
            if (!seen.Add(csproj)) continue;
            var dir = Path.GetDirectoryName(csproj)!;
            foreach (var reference in XDocument.Load(csproj).Descendants().Where(e => e.Name.LocalName == "ProjectReference"))
                if (reference.Attribute("Include")?.Value is { Length: > 0 } include)
                    pending.Push(Path.GetFullPath(Path.Combine(dir, include.Replace('\\', Path.DirectorySeparatorChar))));
        }
        return [.. seen];
    }

    /// <summary>
    /// Every file the publish reads, relative to the repository root, ordered: <see cref="RootBuildInputs"/> that exist,
    /// any <c>Directory.Build.*</c> between a project and the root, and every file of every project folder in
    /// <see cref="ProjectClosure"/> except <c>bin/</c>, <c>obj/</c> and <c>TestResults/</c>.
    /// </summary>
    public static IReadOnlyList<string> BuildInputs(string repoRoot)
    {
        var root = Path.GetFullPath(repoRoot);
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in RootBuildInputs)
            if (File.Exists(Path.Combine(root, name))) files.Add(name);
        foreach (var csproj in ProjectClosure(root))
        {
            var projectDir = Path.GetDirectoryName(csproj)!;
            for (var dir = Directory.GetParent(projectDir); dir is not null && dir.FullName.Length > root.Length; dir = dir.Parent)
                foreach (var f in dir.GetFiles("Directory.Build.*")) files.Add(Path.GetRelativePath(root, f.FullName));
            foreach (var f in Directory.EnumerateFiles(projectDir, "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(projectDir, f).Replace('\\', '/');
                if (rel.StartsWith("bin/", StringComparison.Ordinal) || rel.StartsWith("obj/", StringComparison.Ordinal)
                    || rel.StartsWith("TestResults/", StringComparison.Ordinal) || rel.Contains("/bin/") || rel.Contains("/obj/")) continue;
                files.Add(Path.GetRelativePath(root, f).Replace('\\', '/'));
            }
        }
        return [.. files];
    }

    /// <summary>SHA-256 (hex) over the publish command and each of <see cref="BuildInputs"/> (its path and content).</summary>
    public static string SourceHash(string repoRoot)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(string.Join(' ', DotnetPublishBundling.PublishArguments("<project>", "<out>")) + "\n"));
        foreach (var rel in BuildInputs(repoRoot))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(rel + "\n"));
            sha.AppendData(SHA256.HashData(File.ReadAllBytes(Path.Combine(repoRoot, rel))));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The repository root: the nearest folder at or above <paramref name="start"/> holding <c>StediServerless.sln</c>.</summary>
    /// <exception cref="InvalidOperationException">No such folder.</exception>
    public static string FindRepoRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StediServerless.sln"))) return dir.FullName;
        throw new InvalidOperationException($"StediServerless.sln not found at or above {start}");
    }
}
