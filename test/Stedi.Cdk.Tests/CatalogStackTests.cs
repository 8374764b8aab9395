using Amazon.CDK.Assertions;
using Stedi.Cdk;
using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk.Tests;

[Collection(SynthCollection.Name)]
public sealed class CatalogStackTests(SynthFixture synth)
{
    public static TheoryData<ConsentProfile> Profiles => [ConsentProfile.Strict, ConsentProfile.Rubric];

    [Theory, MemberData(nameof(Profiles))]
    public void Glue_tables_have_exactly_the_columns_and_types_of_the_domain_schema(ConsentProfile profile)
    {
        var catalog = synth.For(profile).Catalog;
        catalog.ResourceCountIs("AWS::Glue::Table", 5);
        catalog.ResourceCountIs("AWS::Glue::Crawler", 0);
        var tables = catalog.Resources("AWS::Glue::Table").Select(t => t.Props.GetProperty("TableInput")).ToList();

        foreach (var schema in Tables.Published(profile))
        {
            var input = Assert.Single(tables, t => t.GetProperty("Name").GetString() == schema.Name);
            var sd = input.GetProperty("StorageDescriptor");
            var columns = sd.GetProperty("Columns").EnumerateArray()
                .Select(c => (c.GetProperty("Name").GetString(), c.GetProperty("Type").GetString())).ToList();
            Assert.Equal(schema.Columns.Select(c => ((string?)c.Name, (string?)c.GlueType)), columns);

            var partition = Assert.Single(input.GetProperty("PartitionKeys").EnumerateArray());
            Assert.Equal(schema.PartitionKey, partition.GetProperty("Name").GetString());
            Assert.Equal("string", partition.GetProperty("Type").GetString());

            Assert.Equal("EXTERNAL_TABLE", input.GetProperty("TableType").GetString());
            Assert.Equal("parquet", input.GetProperty("Parameters").GetProperty("classification").GetString());
            Assert.Equal("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", sd.GetProperty("SerdeInfo").GetProperty("SerializationLibrary").GetString());
            Assert.Equal("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", sd.GetProperty("InputFormat").GetString());
            Assert.Equal("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", sd.GetProperty("OutputFormat").GetString());
            var location = TemplateJson.Render(sd.GetProperty("Location"));
            Assert.StartsWith("s3://", location);
            Assert.EndsWith($"/{schema.Prefix}", location);
        }
    }

    [Theory, MemberData(nameof(Profiles))]
    public void Every_table_resolves_its_partitions_by_Athena_partition_projection(ConsentProfile profile)
    {
        var tables = synth.For(profile).Catalog.Resources("AWS::Glue::Table").Select(t => t.Props.GetProperty("TableInput")).ToList();
        var byKey = new Dictionary<string, int>();
        foreach (var schema in Tables.Published(profile))
        {
            var input = Assert.Single(tables, t => t.GetProperty("Name").GetString() == schema.Name);
            var p = input.GetProperty("Parameters");
            string P(string name) => TemplateJson.Render(p.GetProperty(name));
            var key = schema.PartitionKey;
            byKey[key] = byKey.GetValueOrDefault(key) + 1;
            Assert.Equal("true", P("projection.enabled"));
            var template = P("storage.location.template");
            Assert.StartsWith("s3://", template);
            Assert.EndsWith($"/{schema.Prefix}{key}=${{{key}}}/", template);
            // the template and the table location name the same bucket
            Assert.Equal(TemplateJson.Render(input.GetProperty("StorageDescriptor").GetProperty("Location")), template[..template.IndexOf($"{key}=", StringComparison.Ordinal)]);
            if (key == Tables.ReadingHour)
            {
                Assert.Equal("date", P($"projection.{key}.type"));
                Assert.Equal("yyyy-MM-dd-HH", P($"projection.{key}.format"));
                Assert.Equal("2015-01-01-00,NOW+1DAYS", P($"projection.{key}.range"));
                Assert.Equal("1", P($"projection.{key}.interval"));
                Assert.Equal("HOURS", P($"projection.{key}.interval.unit"));
                // the format is the one the engine names hours with
                Assert.Equal(Stedi.Lakehouse.Partitioning.ReadingHour(1_655_564_444_103), DateTimeOffset.FromUnixTimeMilliseconds(1_655_564_444_103).UtcDateTime.ToString(P($"projection.{key}.format"), System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                Assert.Equal(Tables.EmailBucket, key);
                Assert.Equal("integer", P($"projection.{key}.type"));
                Assert.Equal("0,15", P($"projection.{key}.range"));
                Assert.Equal("2", P($"projection.{key}.digits"));
                Assert.Equal(16, Stedi.Lakehouse.Partitioning.EmailBuckets);
                Assert.Equal(2, Stedi.Lakehouse.Partitioning.EmailBucket("someone@example.com").Length);
            }
        }
        Assert.Equal(3, byKey[Tables.ReadingHour]);
        Assert.Equal(2, byKey[Tables.EmailBucket]);
    }

    [Fact]
    public void Athena_reader_policy_reads_only_the_published_zones_the_catalog_and_the_workgroup()
    {
        var statements = IamWalker.Statements(synth.Strict.TemplateJson).Where(s => s.Owner.StartsWith("AthenaReader")).ToList();
        Assert.All(statements, s => Assert.Equal("Allow", s.Effect));
        var objects = statements.Where(s => s.Actions.Contains("s3:GetObject")).SelectMany(s => s.Resources).ToList();
        Assert.Contains(objects, r => r.EndsWith("/trusted/*"));
        Assert.Contains(objects, r => r.EndsWith("/curated/*"));
        Assert.DoesNotContain(objects, r => r.Contains("/staged/") || r.Contains("/quarantine/") || r.Contains("/landing/") || r.Contains("/manifests/"));
        var glue = statements.Where(s => s.Actions.Any(a => a.StartsWith("glue:"))).SelectMany(s => s.Actions).Order();
        Assert.Equal(["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables"], glue);
        var athena = Assert.Single(statements, s => s.Actions.Any(a => a.StartsWith("athena:")));
        Assert.EndsWith(":workgroup/stedi-dev", Assert.Single(athena.Resources));
        Assert.Contains("athena:StartQueryExecution", athena.Actions);
    }

    [Fact]
    public void Strict_machine_learning_curated_has_no_email_column_and_rubric_keeps_user()
    {
        string[] Columns(ConsentProfile p) => synth.For(p).Catalog.Resources("AWS::Glue::Table")
            .Select(t => t.Props.GetProperty("TableInput"))
            .Single(t => t.GetProperty("Name").GetString() == "machine_learning_curated")
            .GetProperty("StorageDescriptor").GetProperty("Columns").EnumerateArray()
            .Select(c => c.GetProperty("Name").GetString()!).ToArray();
        Assert.DoesNotContain("user", Columns(ConsentProfile.Strict));
        Assert.DoesNotContain("email", Columns(ConsentProfile.Strict));
        Assert.Contains("user", Columns(ConsentProfile.Rubric));
    }

    [Fact]
    public void Workgroup_enforces_its_result_location_and_encryption()
    {
        synth.Strict.Catalog.HasResourceProperties("AWS::Athena::WorkGroup", new Dictionary<string, object>
        {
            ["Name"] = "stedi-dev",
            ["WorkGroupConfiguration"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["EnforceWorkGroupConfiguration"] = true,
                ["ResultConfiguration"] = new Dictionary<string, object>
                {
                    ["OutputLocation"] = Match.AnyValue(),
                    ["EncryptionConfiguration"] = new Dictionary<string, object> { ["EncryptionOption"] = "SSE_S3" },
                },
            }),
        });
        var (_, wg) = synth.Strict.Catalog.Resources("AWS::Athena::WorkGroup").Single();
        var output = TemplateJson.Render(wg.GetProperty("WorkGroupConfiguration").GetProperty("ResultConfiguration").GetProperty("OutputLocation"));
        var resultsBucket = synth.Strict.Catalog.Resources("AWS::S3::Bucket").Single().Id;
        Assert.Equal($"s3://${{{resultsBucket}}}/results/", output);
    }

    [Theory, MemberData(nameof(Profiles))]
    public void Named_queries_count_every_table_and_spot_check_the_join(ConsentProfile profile)
    {
        var queries = synth.For(profile).Catalog.Resources("AWS::Athena::NamedQuery").Select(q => q.Props).ToList();
        var names = queries.Select(q => q.GetProperty("Name").GetString()!).ToList();
        foreach (var table in Tables.Published(profile))
        {
            Assert.Contains($"row_count_{table.Name}", names);
            var sql = queries.Single(q => q.GetProperty("Name").GetString() == $"row_count_{table.Name}").GetProperty("QueryString").GetString();
            Assert.Contains($"\"{table.Name}\"", sql);
        }
        Assert.Contains("check_machine_learning_curated_cross_customer", names);
        Assert.Contains("check_accelerometer_trusted_without_consenting_customer", names);
        Assert.Contains("check_step_trainer_trusted_serial_not_curated", names);
        Assert.All(queries, q =>
        {
            Assert.Equal("stedi_dev", q.GetProperty("Database").GetString());
            Assert.Equal("stedi-dev", TemplateJson.Render(q.GetProperty("WorkGroup")).Replace("${WorkGroup}", "stedi-dev"));
        });
    }

    [Fact]
    public void Strict_cross_customer_check_never_reads_an_email_from_machine_learning_curated()
    {
        var sql = NamedQueries.For(ConsentProfile.Strict).Single(q => q.Name == "check_machine_learning_curated_cross_customer").Sql;
        Assert.DoesNotContain("m.\"user\"", sql);
        Assert.DoesNotContain("m.\"email\"", sql);
        Assert.Contains("c.\"serialNumber\" = m.\"serialNumber\"", sql);
        Assert.Contains("a.reading_hour = m.reading_hour", sql);
        var rubric = NamedQueries.For(ConsentProfile.Rubric).Single(q => q.Name == "check_machine_learning_curated_cross_customer").Sql;
        Assert.Contains("m.\"user\"", rubric);
    }
}
