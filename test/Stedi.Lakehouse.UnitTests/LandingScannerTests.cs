using System.IO.Compression;
using System.Text;
using Stedi.Lakehouse.Reading;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>The landing scanner: records cut out of JSON lines, pretty-printed objects, gzip and BOMs, with bad text reported not thrown.</summary>
public sealed class LandingScannerTests
{
    private static List<ScannedRecord> Scan(byte[] bytes, LandingScanner? scanner = null) => (scanner ?? new LandingScanner()).Scan(new MemoryStream(bytes)).ToList();

    private static string Text(ScannedRecord r) => Encoding.UTF8.GetString(r.Bytes.Span).Trim();

    [Fact]
    public void Json_lines_give_one_record_per_line_with_line_numbers_and_offsets()
    {
        var records = Scan(Encoding.UTF8.GetBytes("{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}"));
        Assert.Equal([1L, 3L, 4L], records.Select(r => r.LineNumber));
        Assert.Equal([0L, 9L, 18L], records.Select(r => r.ByteOffset));
        Assert.All(records, r => Assert.Null(r.Error));
    }

    [Fact]
    public void A_pretty_printed_object_is_one_record_starting_at_its_first_line()
    {
        var records = Scan(Encoding.UTF8.GetBytes("{\n  \"a\": 1,\n  \"b\": \"}\"\n}\n{\"a\":2}\n"));
        Assert.Equal(2, records.Count);
        Assert.Equal(1, records[0].LineNumber);
        Assert.Null(records[0].Error);
        Assert.Equal(5, records[1].LineNumber);
    }

    [Fact]
    public void Gzip_is_detected_from_the_bytes_and_a_bom_is_stripped()
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            gz.Write([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("{\"a\":1}\n")]);
        var scanner = new LandingScanner();
        var records = Scan(ms.ToArray(), scanner);
        Assert.True(scanner.WasGzip);
        Assert.True(scanner.HadBom);
        Assert.Equal("{\"a\":1}", Text(Assert.Single(records)));
    }

    [Fact]
    public void Garbage_and_a_truncated_last_object_are_reported_and_good_neighbours_kept()
    {
        var records = Scan(Encoding.UTF8.GetBytes("not json\n{\"a\":1}\n{\"a\":"));
        Assert.Equal([ReasonCodes.InvalidJson, null, ReasonCodes.TruncatedJson], records.Select(r => r.Error));
    }
}
