using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Schema;
using Stedi.Twin;

namespace Stedi.Cli.Tests;

/// <summary><c>lake.json</c>: written when a lake is created, checked by every writer, including <see cref="LocalPipeline"/> itself.</summary>
public sealed class LakeMetadataTests
{
    [Fact]
    public void The_first_writer_records_its_profile_and_a_later_one_with_the_other_profile_is_refused()
    {
        using var tmp = new TempFolder();
        var lake = Path.Combine(tmp.Path, "lake");
        Assert.Null(LakeMetadata.Read(lake));
        var created = LakeMetadata.Ensure(lake, ConsentProfile.Rubric, "test");
        Assert.Equal(("rubric", 1, "test"), (created.Profile, created.SchemaVersion, created.CreatedBy));
        Assert.Equal(created, LakeMetadata.Read(lake));
        Assert.Equal(created, LakeMetadata.Ensure(lake, ConsentProfile.Rubric));

        var e = Assert.Throws<LakeProfileMismatchException>(() => LakeMetadata.Ensure(lake, ConsentProfile.Strict));
        Assert.Equal((ConsentProfile.Rubric, ConsentProfile.Strict), (e.Recorded, e.Requested));
        Assert.Equal($"lake {Path.GetFullPath(lake)} was built with profile rubric; writing to it with profile strict would mix the two profiles' rules in its tables", e.Message);
    }

    [Fact]
    public void LocalPipeline_refuses_a_lake_built_with_the_other_profile()
    {
        using var tmp = new TempFolder();
        var lake = Path.Combine(tmp.Path, "lake");
        using (new LocalPipeline(lake, ConsentProfile.Strict)) { }
        Assert.Equal("strict", LakeMetadata.Read(lake)!.Profile);
        Assert.Throws<LakeProfileMismatchException>(() => new LocalPipeline(lake, ConsentProfile.Rubric));
    }

    [Fact]
    public void A_layout_version_this_build_does_not_write_is_refused_and_a_malformed_file_is_named()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("lake.json"), """{"profile":"strict","schema_version":2,"created_at":"2030-01-01T00:00:00Z"}""");
        var newer = Assert.Throws<InvalidDataException>(() => LakeMetadata.Ensure(tmp.Path, ConsentProfile.Strict));
        Assert.StartsWith($"lake {tmp.Path} has layout version 2; this build writes version 1", newer.Message);

        File.WriteAllText(tmp.File("lake.json"), """{"profile":"lenient","schema_version":1}""");
        Assert.Equal("lake.json names an unknown profile 'lenient' (expected strict or rubric)", Assert.Throws<InvalidDataException>(() => LakeMetadata.Read(tmp.Path)).Message);

        File.WriteAllText(tmp.File("lake.json"), "{");
        Assert.StartsWith($"{tmp.File("lake.json")} is not valid lake metadata", Assert.Throws<InvalidDataException>(() => LakeMetadata.Read(tmp.Path)).Message);
    }
}
