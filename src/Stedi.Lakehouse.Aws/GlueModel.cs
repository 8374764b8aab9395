using System.Text.Json.Serialization;

namespace Stedi.Lakehouse.Aws;

// Wire shapes of the Glue JSON API operations GlueCatalog uses, named as in the Glue API reference
// (https://docs.aws.amazon.com/glue/latest/webapi/). Only the members used here are declared.

internal sealed class GlueColumn
{
    public string Name { get; set; } = "";
    public string? Type { get; set; }
    public string? Comment { get; set; }
}

internal sealed class GlueSerDeInfo
{
    public string? SerializationLibrary { get; set; }
    public Dictionary<string, string>? Parameters { get; set; }
}

internal sealed class GlueStorageDescriptor
{
    public List<GlueColumn>? Columns { get; set; }
    public string? Location { get; set; }
    public string? InputFormat { get; set; }
    public string? OutputFormat { get; set; }
    public GlueSerDeInfo? SerdeInfo { get; set; }
}

internal sealed class GlueTableInput
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public string? TableType { get; set; }
    public Dictionary<string, string>? Parameters { get; set; }
    public List<GlueColumn>? PartitionKeys { get; set; }
    public GlueStorageDescriptor? StorageDescriptor { get; set; }
}

/// <summary>A table as GetTable returns it (a superset of TableInput).</summary>
internal sealed class GlueTable
{
    public string Name { get; set; } = "";
    public string? DatabaseName { get; set; }
    public string? Description { get; set; }
    public string? TableType { get; set; }
    public Dictionary<string, string>? Parameters { get; set; }
    public List<GlueColumn>? PartitionKeys { get; set; }
    public GlueStorageDescriptor? StorageDescriptor { get; set; }
}

internal sealed class GluePartitionInput
{
    public List<string> Values { get; set; } = [];
    public GlueStorageDescriptor? StorageDescriptor { get; set; }
    public Dictionary<string, string>? Parameters { get; set; }
}

internal sealed class GluePartition
{
    public List<string>? Values { get; set; }
    public string? DatabaseName { get; set; }
    public string? TableName { get; set; }
    public GlueStorageDescriptor? StorageDescriptor { get; set; }
}

internal sealed class GlueDatabaseInput
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
}

internal sealed class GetDatabaseRequest { public string Name { get; set; } = ""; }
internal sealed class CreateDatabaseRequest { public GlueDatabaseInput DatabaseInput { get; set; } = new(); }
internal sealed class GetTableRequest { public string DatabaseName { get; set; } = ""; public string Name { get; set; } = ""; }
internal sealed class GetTableResponse { public GlueTable? Table { get; set; } }
internal sealed class CreateTableRequest { public string DatabaseName { get; set; } = ""; public GlueTableInput TableInput { get; set; } = new(); }
internal sealed class UpdateTableRequest { public string DatabaseName { get; set; } = ""; public GlueTableInput TableInput { get; set; } = new(); }

internal sealed class BatchCreatePartitionRequest
{
    public string DatabaseName { get; set; } = "";
    public string TableName { get; set; } = "";
    public List<GluePartitionInput> PartitionInputList { get; set; } = [];
}

internal sealed class GlueErrorDetail
{
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
}

internal sealed class GluePartitionError
{
    public List<string>? PartitionValues { get; set; }
    public GlueErrorDetail? ErrorDetail { get; set; }
}

internal sealed class BatchCreatePartitionResponse { public List<GluePartitionError>? Errors { get; set; } }

internal sealed class GetPartitionsRequest
{
    public string DatabaseName { get; set; } = "";
    public string TableName { get; set; } = "";
    public string? NextToken { get; set; }
}

internal sealed class GetPartitionsResponse
{
    public List<GluePartition>? Partitions { get; set; }
    public string? NextToken { get; set; }
}

/// <summary>Responses whose content GlueCatalog ignores.</summary>
internal sealed class GlueEmpty;

/// <summary>Source-generated JSON metadata of the Glue wire shapes (no reflection serializer).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GlueEmpty))]
[JsonSerializable(typeof(GetDatabaseRequest))]
[JsonSerializable(typeof(CreateDatabaseRequest))]
[JsonSerializable(typeof(GetTableRequest))]
[JsonSerializable(typeof(GetTableResponse))]
[JsonSerializable(typeof(CreateTableRequest))]
[JsonSerializable(typeof(UpdateTableRequest))]
[JsonSerializable(typeof(BatchCreatePartitionRequest))]
[JsonSerializable(typeof(BatchCreatePartitionResponse))]
[JsonSerializable(typeof(GetPartitionsRequest))]
[JsonSerializable(typeof(GetPartitionsResponse))]
internal sealed partial class GlueJsonContext : JsonSerializerContext;
