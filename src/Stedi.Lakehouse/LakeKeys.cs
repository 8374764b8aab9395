using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse;

/// <summary>
/// The lake bucket's key layout, in one place:
/// <list type="bullet">
/// <item><c>&lt;source&gt;/landing/…</c>: landing objects (the producers' drop zone);</item>
/// <item><c>staged/&lt;source&gt;/&lt;partitionKey&gt;=&lt;value&gt;/&lt;objectId&gt;.parquet</c>: every parsed record, one object per landing object and partition;
/// <c>…/compact-&lt;hash&gt;.parquet</c> and its <c>.json</c> manifest: a partition's many small staged objects merged;</item>
/// <item><c>quarantine/&lt;source&gt;/&lt;objectId&gt;.jsonl</c>, <c>manifests/&lt;source&gt;/&lt;objectId&gt;.json</c>;</item>
/// <item><c>refine/&lt;table&gt;/&lt;partition&gt;/&lt;hash&gt;.json</c>: the detail of a partition's last recompute;</item>
/// <item><c>trusted/&lt;table&gt;/…</c>, <c>curated/&lt;table&gt;/…</c>: the published tables (<see cref="TableSchema.PartitionObjectKey"/>);</item>
/// <item><c>lake.json</c> at the root: the profile the tables are built with (<see cref="LakeProfile"/>).</item>
/// </list>
/// </summary>
public static class LakeKeys
{
    /// <summary>Prefix of staged data.</summary>
    public const string StagedPrefix = "staged/";
    /// <summary>Prefix of quarantined records.</summary>
    public const string QuarantinePrefix = "quarantine/";
    /// <summary>Prefix of ingest manifests.</summary>
    public const string ManifestPrefix = "manifests/";
    /// <summary>Prefix of refine details.</summary>
    public const string RefinePrefix = "refine/";
    /// <summary>The lake's record of the profile its tables are built with, at the root (a deployment's bucket; a local
    /// lake keeps the same file beside its bucket folder).</summary>
    public const string LakeProfile = "lake.json";
    /// <summary>File-name prefix of compacted staged objects (never a landing object id, which is 16 hex digits).</summary>
    public const string CompactPrefix = "compact-";

    /// <summary>The staged object of one landing object in one partition.</summary>
    public static string Staged(TableSchema staged, string partition, string objectId) => $"{staged.PartitionPrefix(partition)}{objectId}.parquet";

    /// <summary>The quarantine object of one landing object.</summary>
    public static string Quarantine(string source, string objectId) => $"{QuarantinePrefix}{source}/{objectId}.jsonl";

    /// <summary>The ingest manifest of one landing object.</summary>
    public static string Manifest(string source, string objectId) => $"{ManifestPrefix}{source}/{objectId}.json";

    /// <summary>The detail of one recompute, named by its content hash (a new recompute never overwrites the committed one).</summary>
    public static string RefineDetail(string table, string partition, string hash) => $"{RefinePrefix}{table}/{partition}/{hash[..16]}.json";

    /// <summary>The partition value of a staged object key (<c>staged/&lt;source&gt;/&lt;column&gt;=&lt;value&gt;/&lt;file&gt;</c>).</summary>
    /// <exception cref="FormatException">Not a staged key.</exception>
    public static string PartitionOfStaged(string stagedKey)
    {
        var parts = stagedKey.Split('/');
        if (parts.Length < 4 || parts[0] + "/" != StagedPrefix || !parts[2].Contains('=')) throw new FormatException($"not a staged key: {stagedKey}");
        return parts[2][(parts[2].IndexOf('=') + 1)..];
    }

    /// <summary>The landing object id of a staged object key, or null for a compacted object.</summary>
    public static string? ObjectIdOfStaged(string stagedKey)
    {
        var file = stagedKey[(stagedKey.LastIndexOf('/') + 1)..];
        if (!file.EndsWith(".parquet", StringComparison.Ordinal) || file.StartsWith(CompactPrefix, StringComparison.Ordinal)) return null;
        return file[..^".parquet".Length];
    }
}
