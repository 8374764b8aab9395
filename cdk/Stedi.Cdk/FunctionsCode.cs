using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;

namespace Stedi.Cdk;

/// <summary>Where the Lambda code comes from: a prebuilt folder, or <c>dotnet publish</c> of <c>src/Stedi.Functions</c> during synth.</summary>
public static class FunctionsCode
{
    /// <summary>Relative path of the functions project from the repository root.</summary>
    public const string ProjectPath = "src/Stedi.Functions";

    /// <summary>
    /// The code asset. With <see cref="StediConfig.FunctionsAsset"/> set, that folder is used as is (tests, CI
    /// artefacts). Otherwise the asset is the <c>src/</c> tree (its hash decides when to rebuild; bin/obj excluded)
    /// bundled locally by <see cref="DotnetPublishBundling"/>; the Docker image named below is never pulled.
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
            AssetHashType = AssetHashType.SOURCE,
            Exclude = ["**/bin", "**/obj", "**/TestResults"],
            Bundling = new BundlingOptions
            {
                // Required by the API; unused because local bundling always succeeds or throws.
                Image = DockerImage.FromRegistry("public.ecr.aws/sam/build-dotnet8"),
                Local = new DotnetPublishBundling(project),
            },
        });
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
