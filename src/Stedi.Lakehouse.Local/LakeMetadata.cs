using System.Text.Json;
using System.Text.Json.Serialization;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// What a local lake records about itself when it is created: the semantic profile its tables are built with and the
/// version of its layout, in <c>&lt;lake&gt;/lake.json</c> beside the index. The tables of one lake are a function of
/// its landing objects under one profile only: refining part of a rubric lake with the strict rules (or the reverse)
/// leaves tables that match neither, so every writer checks the recorded profile first (<see cref="Ensure"/>).
/// </summary>
/// <param name="Profile">The profile, lower case (<c>strict</c> or <c>rubric</c>).</param>
/// <param name="SchemaVersion">The lake layout version (<see cref="CurrentSchemaVersion"/> when written by this build).</param>
/// <param name="CreatedAt">When the lake was created (UTC).</param>
/// <param name="CreatedBy">The program that created it (e.g. <c>stedi 1.0.0</c>), or null.</param>
public sealed record LakeMetadata(
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("schema_version")] int SchemaVersion,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("created_by")] string? CreatedBy)
{
    /// <summary>The file name, in the lake folder.</summary>
    public const string FileName = "lake.json";

    /// <summary>The layout version this build writes and understands.</summary>
    public const int CurrentSchemaVersion = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The recorded profile.</summary>
    /// <exception cref="InvalidDataException">The file names a profile this build does not know.</exception>
    [JsonIgnore]
    public ConsentProfile ConsentProfile => Enum.TryParse<ConsentProfile>(Profile, true, out var p) && Enum.IsDefined(p)
        ? p
        : throw new InvalidDataException($"{FileName} names an unknown profile '{Profile}' (expected strict or rubric)");

    /// <summary>The path of the file in a lake folder.</summary>
    public static string PathIn(string lakeRoot) => Path.Combine(Path.GetFullPath(lakeRoot), FileName);

    /// <summary>Reads the metadata of a lake folder, or null when the folder has no <see cref="FileName"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid metadata.</exception>
    public static LakeMetadata? Read(string lakeRoot)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lakeRoot);
        var path = PathIn(lakeRoot);
        if (!File.Exists(path)) return null;
        LakeMetadata? m;
        try { m = JsonSerializer.Deserialize<LakeMetadata>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not valid lake metadata: {e.Message}", e); }
        if (m is null || string.IsNullOrEmpty(m.Profile) || m.SchemaVersion < 1)
            throw new InvalidDataException($"{path} is not valid lake metadata (it needs \"profile\" and \"schema_version\")");
        _ = m.ConsentProfile;
        return m;
    }

    /// <summary>
    /// Checks that a lake may be written with <paramref name="profile"/>, recording it when the lake has no metadata yet
    /// (a new lake, or one made before lakes recorded their profile): the first writer's profile is the lake's.
    /// </summary>
    /// <param name="lakeRoot">Lake folder (created when missing).</param>
    /// <param name="profile">The profile the caller is about to write with.</param>
    /// <param name="createdBy">Recorded as <see cref="CreatedBy"/> when the file is written.</param>
    /// <returns>The lake's metadata (as found, or as written).</returns>
    /// <exception cref="LakeProfileMismatchException">The lake records another profile.</exception>
    /// <exception cref="InvalidDataException">The file is malformed or records a layout version this build does not write.</exception>
    public static LakeMetadata Ensure(string lakeRoot, ConsentProfile profile, string? createdBy = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lakeRoot);
        var root = Path.GetFullPath(lakeRoot);
        Directory.CreateDirectory(root);
        var existing = Read(root);
        if (existing is null)
        {
            var created = new LakeMetadata(ProfileName(profile), CurrentSchemaVersion, DateTime.UtcNow, createdBy);
            // Written beside the target and moved into place without overwriting: the file appears whole or not at all
            // (a process killed while writing it left an empty lake.json that every later command refused), and of two
            // writers creating the same lake at once, one records its profile and the other is checked against it.
            var temporary = Path.Combine(root, $"{FileName}.{Guid.NewGuid():N}.tmp");
            try
            {
                File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(created, Json));
                File.Move(temporary, PathIn(root), overwrite: false);
                return created;
            }
            catch (IOException) when (File.Exists(PathIn(root)))
            {
                existing = Read(root)!;
            }
            finally
            {
                File.Delete(temporary);
            }
        }
        if (existing.SchemaVersion != CurrentSchemaVersion)
            throw new InvalidDataException($"lake {root} has layout version {existing.SchemaVersion}; this build writes version {CurrentSchemaVersion}. " +
                                           "Use the stedi that made it, or rebuild the lake from its landing files.");
        if (existing.ConsentProfile != profile) throw new LakeProfileMismatchException(root, existing.ConsentProfile, profile);
        return existing;
    }

    /// <summary>The lower-case name of a profile as recorded.</summary>
    public static string ProfileName(ConsentProfile profile) => profile.ToString().ToLowerInvariant();
}

/// <summary>A writer asked for a profile other than the one the lake was built with.</summary>
public sealed class LakeProfileMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public LakeProfileMismatchException(string lakeRoot, ConsentProfile recorded, ConsentProfile requested)
        : base($"lake {lakeRoot} was built with profile {LakeMetadata.ProfileName(recorded)}; writing to it with profile " +
               $"{LakeMetadata.ProfileName(requested)} would mix the two profiles' rules in its tables")
    {
        LakeRoot = lakeRoot;
        Recorded = recorded;
        Requested = requested;
    }

    /// <summary>The lake folder.</summary>
    public string LakeRoot { get; }
    /// <summary>The profile the lake records.</summary>
    public ConsentProfile Recorded { get; }
    /// <summary>The profile the writer asked for.</summary>
    public ConsentProfile Requested { get; }
}
