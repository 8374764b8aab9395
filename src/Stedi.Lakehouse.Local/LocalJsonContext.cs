using System.Text.Json.Serialization;

namespace Stedi.Lakehouse.Local;

/// <summary>Source-generated JSON metadata of the types the local adapters persist.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(CatalogTable))]
internal sealed partial class LocalJsonContext : JsonSerializerContext;
