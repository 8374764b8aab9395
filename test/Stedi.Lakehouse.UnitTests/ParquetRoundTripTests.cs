using DuckDB.NET.Data;
using Stedi.Lakehouse.Parquet;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>Typed batches written by the one schema per table: footer types, dictionary-encoded strings, nulls, round trip.</summary>
public sealed class ParquetRoundTripTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stedi-parquet-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task A_batch_round_trips_with_nulls_and_is_typed_and_dictionary_encoded_in_the_footer()
    {
        var batch = new ColumnBatch(Tables.CustomerTrusted);
        for (var i = 0; i < 1000; i++)
        {
            var r = batch.AddRow();
            batch.Strings(Fields.Email).Set(r, $"c{i}@x.com");
            batch.Strings(Fields.Phone).Set(r, "8015551212");
            batch.Strings(Fields.CustomerSerialNumber).Set(r, i % 2 == 0 ? null : "S-1");
            batch.Longs(Fields.LastUpdateDate).Set(r, 1_750_000_000_000L + i);
        }
        var path = Path.Combine(_dir, "c.parquet");
        await using (var f = File.Create(path)) await ParquetTable.WriteAsync(batch, f);

        await using (var f = File.OpenRead(path))
        {
            var back = await ParquetTable.ReadAsync(Tables.CustomerTrusted, f);
            Assert.Equal(1000, back.Count);
            Assert.Null(back.Strings(Fields.CustomerSerialNumber)[0]);
            Assert.Equal("S-1", back.Strings(Fields.CustomerSerialNumber)[1]);
            Assert.True(back.Longs(Fields.RegistrationDate).IsNull(5));
            Assert.Equal(1_750_000_000_999L, back.Longs(Fields.LastUpdateDate)[999]);
            Assert.Equal(1002, back.Pool.Count); // 1,000 emails, one phone, one serial
        }

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT path_in_schema, type, encodings, stats_null_count FROM parquet_metadata('{path}') ORDER BY column_id";
        var meta = new Dictionary<string, (string Type, string Encodings, long Nulls)>();
        using (var r = cmd.ExecuteReader())
            while (r.Read()) meta[r.GetString(0)] = (r.GetString(1), r.GetString(2), r.IsDBNull(3) ? 0 : Convert.ToInt64(r.GetValue(3)));
        Assert.Equal("INT64", meta["lastUpdateDate"].Type);
        Assert.Equal("BYTE_ARRAY", meta["email"].Type);
        Assert.Contains("DICTIONARY", meta["phone"].Encodings);
        Assert.Contains("DICTIONARY", meta["serialNumber"].Encodings);
        Assert.DoesNotContain("DICTIONARY", meta["email"].Encodings); // all distinct: plain is smaller
        Assert.Equal(500, meta["serialNumber"].Nulls);
        Assert.DoesNotContain(meta.Values, m => m.Type == "INT96");
    }

    [Fact]
    public void Sorting_compares_strings_ordinally_nulls_first_and_numbers_numerically()
    {
        var b = new ColumnBatch(Tables.AccelerometerTrusted);
        foreach (var (u, t) in new[] { ("b", 2L), ("B", 1L), ("a", 10L), ("a", 9L) })
        {
            var r = b.AddRow();
            b.Strings(Fields.User).Set(r, u);
            b.Longs(Fields.Timestamp).Set(r, t);
        }
        var order = b.SortedRows(b.FullComparer());
        Assert.Equal(["B/1", "a/9", "a/10", "b/2"], order.Select(r => $"{b.Strings(Fields.User)[r]}/{b.Longs(Fields.Timestamp)[r]}"));
    }
}
