using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Stedi.Cdk;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk.Tests;

/// <summary>One synthesized app: its stacks, their assertion templates and the raw template JSON on disk.</summary>
public sealed class SynthesizedApp
{
    public required StediStacks Stacks { get; init; }
    public required string OutDir { get; init; }
    public required Template Storage { get; init; }
    public required Template Catalog { get; init; }
    public required Template Ingestion { get; init; }

    /// <summary>Every template file of the assembly, parsed.</summary>
    public IReadOnlyDictionary<string, JsonElement> TemplateJson =>
        Directory.GetFiles(OutDir, "*.template.json")
            .ToDictionary(f => Path.GetFileName(f), f => JsonDocument.Parse(File.ReadAllText(f)).RootElement);

    public IEnumerable<Template> All => [Storage, Catalog, Ingestion];
}

/// <summary>
/// Synthesizes the app once per configuration for all tests (jsii start-up and synth dominate the run time). The
/// Lambda code is a placeholder folder, so no dotnet publish runs.
/// </summary>
public sealed class SynthFixture : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"stedi-cdk-tests-{Guid.NewGuid():N}");

    public SynthesizedApp Strict { get; }
    public SynthesizedApp Rubric { get; }
    public SynthesizedApp Prod { get; }

    public SynthFixture()
    {
        var asset = Path.Combine(_root, "functions");
        Directory.CreateDirectory(asset);
        File.WriteAllText(Path.Combine(asset, "Stedi.Functions.dll"), "placeholder: the CDK tests never run the code");
        Strict = Synth("strict-dev", asset, ("profile", "strict"));
        Rubric = Synth("rubric-dev", asset, ("profile", "rubric"));
        Prod = Synth("strict-prod", asset, ("profile", "strict"), ("stage", "prod"));
    }

    private SynthesizedApp Synth(string name, string asset, params (string Key, string Value)[] context)
    {
        var outDir = Path.Combine(_root, name);
        var ctx = new Dictionary<string, object> { ["functionsAsset"] = asset };
        foreach (var (k, v) in context) ctx[k] = v;
        var app = new App(new AppProps { Outdir = outDir, Context = ctx });
        var stacks = StediApp.Build(app, FunctionsCode.FindRepoRoot(AppContext.BaseDirectory));
        app.Synth();
        return new SynthesizedApp
        {
            Stacks = stacks,
            OutDir = outDir,
            Storage = Template.FromStack(stacks.Storage),
            Catalog = Template.FromStack(stacks.Catalog),
            Ingestion = Template.FromStack(stacks.Ingestion),
        };
    }

    public SynthesizedApp For(ConsentProfile profile) => profile == ConsentProfile.Rubric ? Rubric : Strict;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class SynthCollection : ICollectionFixture<SynthFixture>
{
    public const string Name = "synth";
}

/// <summary>Helpers over template JSON.</summary>
public static class TemplateJson
{
    /// <summary>Resources of a type in a template, by logical id.</summary>
    public static IEnumerable<(string Id, JsonElement Props)> Resources(this Template template, string type) =>
        Parse(template).GetProperty("Resources").EnumerateObject()
            .Where(r => r.Value.GetProperty("Type").GetString() == type)
            .Select(r => (r.Name, r.Value.TryGetProperty("Properties", out var p) ? p : default));

    public static JsonElement Parse(Template template) =>
        JsonDocument.Parse(JsonSerializer.Serialize(template.ToJSON())).RootElement;

    /// <summary>Renders an intrinsic-function value as a readable string (Ref/GetAtt/ImportValue become placeholders),
    /// so ARNs built with Fn::Join can be pattern-checked.</summary>
    public static string Render(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Object when e.TryGetProperty("Fn::Join", out var j) =>
            string.Join(j[0].GetString(), j[1].EnumerateArray().Select(Render)),
        JsonValueKind.Object when e.TryGetProperty("Ref", out var r) => $"${{{r.GetString()}}}",
        JsonValueKind.Object when e.TryGetProperty("Fn::GetAtt", out var g) => $"${{{g[0].GetString()}.{g[1].GetString()}}}",
        JsonValueKind.Object when e.TryGetProperty("Fn::ImportValue", out var i) => $"${{import:{Render(i)}}}",
        _ => e.GetRawText(),
    };

    public static IEnumerable<JsonElement> AsArray(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : [e];
}
