using System.IO.Compression;
using System.Text;
using Stedi.Lakehouse.Reading;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>The landing scanner: records cut out of JSON lines, pretty-printed objects, gzip and BOMs, with bad text reported not thrown.</summary>
public sealed class LandingScannerTests
{
    /// <summary>Scans to the end, copying each record's bytes (the scanner hands out views valid until the next record).</summary>
    private static List<ScannedRecord> Scan(byte[] bytes, LandingScanner? scanner = null) =>
        (scanner ?? new LandingScanner()).Scan(new MemoryStream(bytes)).Select(r => r with { Bytes = r.Bytes.ToArray() }).ToList();

    private static List<ScannedRecord> Scan(string text, LandingScanner? scanner = null) => Scan(Encoding.UTF8.GetBytes(text), scanner);

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
    public void A_line_that_is_a_json_value_but_not_an_object_is_not_an_object_and_garbage_is_invalid_json()
    {
        var records = Scan("5\n\"str\"\nnull\ntrue\n[1,2]\nnot json\n{\"a\":1}\n");
        Assert.Equal([ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.InvalidJson, null],
            records.Select(r => r.Error));
        Assert.Equal(["line 1 is a number, not a JSON object", "line 2 is a string, not a JSON object", "line 3 is null, not a JSON object",
                      "line 4 is a boolean, not a JSON object", "line 5 is an array, not a JSON object", null, null], records.Select(r => r.Detail));
    }

    [Fact]
    public void Several_objects_on_one_physical_line_are_several_records_at_their_own_offsets()
    {
        // {…}{…} on one line, and records ended by a bare '\r' (old Mac line endings): once read as one invalid record.
        var two = Scan("{\"a\":1}{\"a\":\"}{\"} {\"a\":3}\n{\"a\":4}\n");
        Assert.Equal(["{\"a\":1}", "{\"a\":\"}{\"}", "{\"a\":3}", "{\"a\":4}"], two.Select(Text));
        Assert.Equal([1L, 1L, 1L, 2L], two.Select(r => r.LineNumber));
        Assert.Equal([0L, 7L, 18L, 26L], two.Select(r => r.ByteOffset));
        Assert.All(two, r => Assert.Null(r.Error));

        var mac = Scan("{\"a\":1}\r{\"a\":2}\r{\"a\":3}\r");
        Assert.Equal(["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"], mac.Select(Text));
        Assert.All(mac, r => Assert.Null(r.Error));
        // A bare CR is a line break: a bad line among CR-ended records is quarantined alone, on its own line number.
        var bad = Scan("{\"a\":1}\rgarbage\r5\r{\"a\":2}\r\n{\"a\":3}\n");
        Assert.Equal(["{\"a\":1}", "garbage", "5", "{\"a\":2}", "{\"a\":3}"], bad.Select(Text));
        Assert.Equal([null, ReasonCodes.InvalidJson, ReasonCodes.NotAnObject, null, null], bad.Select(r => r.Error));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], bad.Select(r => r.LineNumber));
        Assert.Equal([0L, 8L, 16L, 18L, 27L], bad.Select(r => r.ByteOffset));

        // The 1 MiB record limit applies to each CR-ended line, not to the whole file (a 3 MB CR-only file was one record_too_large).
        var many = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{{\"a\":{i},\"pad\":\"{new string('x', 100)}\"}}\r"));
        Assert.True(many.Length > 2 * LandingScanner.MaxRecordBytes);
        var big = Scan(many);
        Assert.Equal(20_000, big.Count);
        Assert.All(big, r => Assert.Null(r.Error));
        Assert.Equal(20_000L, big[^1].LineNumber);

        // The last object on the line may go on below (pretty-printed): it is one record from where it starts.
        var spill = Scan("{\"a\":1} {\"a\":\n  2}\n");
        Assert.Equal(["{\"a\":1}", "{\"a\":\n  2}"], spill.Select(Text));
        Assert.Equal([0L, 8L], spill.Select(r => r.ByteOffset));
        Assert.All(spill, r => Assert.Null(r.Error));

        // Text after an object that is not another object stays the parser's to reject, as before.
        var tail = Scan("{\"a\":1} trailing\n");
        Assert.Equal(["{\"a\":1} trailing"], tail.Select(Text));
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
    public void A_pretty_printed_record_with_a_one_line_object_in_an_array_stays_one_record()
    {
        var text = "{\n  \"user\": \"a@b.c\",\n  \"tags\": [\n    {\"k\": \"v\"}\n  ]\n}\n{\"a\":2}\n";
        var records = Scan(Encoding.UTF8.GetBytes(text));
        Assert.Equal([null, null], records.Select(r => r.Error));
        Assert.Equal([1L, 7L], records.Select(r => r.LineNumber));
    }

    [Fact]
    public void A_record_cut_short_is_reported_when_a_whole_object_follows_at_its_top_level()
    {
        var records = Scan(Encoding.UTF8.GetBytes("{\n  \"user\": \"a@b.c\",\n{\"a\":2}\n"));
        Assert.Equal([ReasonCodes.TruncatedJson, null], records.Select(r => r.Error));
        Assert.Equal("{\"a\":2}", Text(records[1]));
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

    [Fact]
    public void Json_lines_records_are_views_valid_until_the_next_record_and_lines_longer_than_the_buffer_stay_whole()
    {
        var longLine = "{\"a\":\"" + new string('x', 200_000) + "\"}";
        var text = "{\"a\":1}\n" + longLine + "\n{\"a\":2}\n";
        var seen = new List<string>();
        foreach (var r in new LandingScanner().Scan(new MemoryStream(Encoding.UTF8.GetBytes(text)))) seen.Add(Encoding.UTF8.GetString(r.Bytes.Span));
        Assert.Equal(["{\"a\":1}", longLine, "{\"a\":2}"], seen);
    }

    [Fact]
    public void A_line_longer_than_the_record_limit_is_one_record_too_large_with_its_first_bytes_and_the_next_line_is_kept()
    {
        var huge = "{\"a\":\"" + new string('x', LandingScanner.MaxRecordBytes + 10) + "\"}";
        var records = Scan(huge + "\n{\"a\":2}\n");
        Assert.Equal([ReasonCodes.RecordTooLarge, null], records.Select(r => r.Error));
        Assert.Equal(4096, records[0].Bytes.Length);
        Assert.Equal((2L, (long)huge.Length + 1), (records[1].LineNumber, records[1].ByteOffset));
    }

    // ---------------------------------------------------------------- top-level JSON arrays (issue 9)

    [Fact]
    public void A_one_line_array_is_unwrapped_into_one_record_per_element_with_offsets_of_each_element()
    {
        var scanner = new LandingScanner();
        var records = Scan("[{\"a\":1}, {\"a\":2},{\"a\":3}]\n", scanner);
        Assert.Equal(["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"], records.Select(Text));
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal([1L, 1L, 1L], records.Select(r => r.LineNumber));
        Assert.Equal([1L, 10L, 18L], records.Select(r => r.ByteOffset));
        Assert.True(scanner.UnwrappedArray);
        Assert.Equal(3, scanner.ArrayElements);
        Assert.False(scanner.ArrayNotClosed);
    }

    [Fact]
    public void A_pretty_printed_array_gives_each_element_the_line_where_it_starts()
    {
        const string text = "[\n  {\n    \"a\": 1,\n    \"b\": \"}],[{\"\n  },\n  {\"a\": 2}\n  ,\n  {\n    \"a\": 3\n  }\n]\n";
        var records = Scan(text);
        Assert.Equal([2L, 6L, 8L], records.Select(r => r.LineNumber));
        Assert.Equal([text.IndexOf("{\n    \"a\": 1", StringComparison.Ordinal), text.IndexOf("{\"a\": 2}", StringComparison.Ordinal), text.IndexOf("{\n    \"a\": 3", StringComparison.Ordinal)],
            records.Select(r => (int)r.ByteOffset));
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal("{\n    \"a\": 1,\n    \"b\": \"}],[{\"\n  }", Text(records[0]));
    }

    [Fact]
    public void Leading_blank_lines_and_a_bom_before_the_bracket_still_make_an_array()
    {
        var scanner = new LandingScanner();
        var records = Scan([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("\n \r\n\t[{\"a\":1}]")], scanner);
        var r = Assert.Single(records);
        Assert.Equal((3L, 9L, (string?)null), (r.LineNumber, r.ByteOffset, r.Error));
        Assert.True(scanner.HadBom);
        Assert.True(scanner.UnwrappedArray);
    }

    [Fact]
    public void Elements_that_are_not_objects_are_reported_with_what_they_are()
    {
        var records = Scan("[{\"a\":1}, 42, \"text, with ] inside\", true, null, [{\"a\":2}], -1.5e3, nope, {\"a\":3}]");
        Assert.Equal([null, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject, ReasonCodes.NotAnObject,
            ReasonCodes.NotAnObject, ReasonCodes.InvalidJson, null], records.Select(r => r.Error));
        Assert.Equal([null, "array element 2 is a number, not a JSON object", "array element 3 is a string, not a JSON object",
            "array element 4 is a boolean, not a JSON object", "array element 5 is null, not a JSON object", "array element 6 is an array, not a JSON object",
            "array element 7 is a number, not a JSON object", "array element 8 is not valid JSON", null], records.Select(r => r.Detail));
        Assert.Equal("\"text, with ] inside\"", Text(records[2]));
        Assert.Equal("[{\"a\":2}]", Text(records[5]));
    }

    [Fact]
    public void Text_after_the_closing_bracket_is_reported_line_by_line()
    {
        var scanner = new LandingScanner();
        var records = Scan("[{\"a\":1}] trailing\n\n{\"a\":2}\n", scanner);
        Assert.Equal([null, ReasonCodes.TextAfterArray, ReasonCodes.TextAfterArray], records.Select(r => r.Error));
        Assert.Equal(["trailing", "{\"a\":2}"], records.Skip(1).Select(Text));
        Assert.Equal([1L, 3L], records.Skip(1).Select(r => r.LineNumber));
        Assert.Equal([10L, 20L], records.Skip(1).Select(r => r.ByteOffset));
        Assert.False(scanner.ArrayNotClosed);
    }

    [Theory]
    [InlineData("[{\"a\":1},{\"a\":2},{\"a\":", 2, true)]
    [InlineData("[{\"a\":1},{\"a\":2},{\"a\":\"x\\\"y", 2, true)]
    [InlineData("[{\"a\":1},{\"a\":2},", 2, false)]
    [InlineData("[{\"a\":1},{\"a\":2}", 2, false)]
    [InlineData("[\n{\"a\":1},\n{\"a\":2},\n{\n \"a\": [1, 2", 2, true)]
    public void A_truncated_array_keeps_the_good_elements_and_reports_the_cut_one(string text, int good, bool cutElement)
    {
        var scanner = new LandingScanner();
        var records = Scan(text, scanner);
        Assert.Equal(good, records.Count(r => r.Error is null));
        Assert.Equal(cutElement ? 1 : 0, records.Count(r => r.Error == ReasonCodes.TruncatedJson));
        Assert.Equal(good + (cutElement ? 1 : 0), records.Count);
        Assert.True(scanner.ArrayNotClosed);
        if (cutElement) Assert.Equal($"array element {good + 1} is cut short: the object ends before its closing bracket", records[^1].Detail);
    }

    [Fact]
    public void An_empty_array_has_no_records()
    {
        var scanner = new LandingScanner();
        Assert.Empty(Scan("[ ]\n", scanner));
        Assert.True(scanner.UnwrappedArray);
        Assert.Equal(0, scanner.ArrayElements);
    }

    [Fact]
    public void An_array_element_longer_than_the_record_limit_is_too_large_and_the_next_element_is_kept()
    {
        var big = "{\"a\":\"" + new string('x', LandingScanner.MaxRecordBytes) + "\"}";
        var records = Scan("[" + big + ",{\"a\":2}]");
        Assert.Equal([ReasonCodes.RecordTooLarge, null], records.Select(r => r.Error));
        Assert.Equal(4096, records[0].Bytes.Length);
        Assert.Equal("{\"a\":2}", Text(records[1]));
        Assert.Equal(big.Length + 2, records[1].ByteOffset);
    }

    [Fact]
    public void A_gzip_object_cut_at_a_flush_point_is_reported_corrupt_after_the_records_it_holds()
    {
        // Cut right after a flush the deflate data is valid but has no last block and no trailer: GZipStream ends
        // quietly there, and 100 of 200 records once read as a complete object.
        using var ms = new MemoryStream();
        var cut = 0L;
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var i = 1; i <= 200; i++)
            {
                gz.Write(Encoding.UTF8.GetBytes($"{{\"a\":{i}}}\n"));
                if (i == 100) { gz.Flush(); cut = ms.Length; }
            }
        }
        var whole = ms.ToArray();
        var scanner = new LandingScanner();
        var records = Scan(whole.AsSpan(0, (int)cut).ToArray(), scanner);
        Assert.Equal(101, records.Count);
        Assert.All(records.Take(100), r => Assert.Null(r.Error));
        Assert.Equal(ReasonCodes.CorruptCompression, records[100].Error);
        Assert.True(scanner.CompressionCorrupt);

        var complete = new LandingScanner();
        Assert.Equal(200, Scan(whole, complete).Count(r => r.Error is null));
        Assert.False(complete.CompressionCorrupt);
    }

    private static byte[] Gzip(string text)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(Encoding.UTF8.GetBytes(text));
        return ms.ToArray();
    }

    private static string Lines(int from, int to) =>
        string.Concat(Enumerable.Range(from, to - from + 1).Select(i => $"{{\"a\":{i},\"pad\":\"{new string((char)('a' + i % 26), i % 97)}\"}}\n"));

    [Fact]
    public void Gzip_members_concatenated_are_read_whole_and_not_reported_corrupt()
    {
        // cat a.gz b.gz c.gz: a valid gzip file (RFC 1952 allows several members). The middle member is large enough
        // that the reads cut its bytes, and a trailer or a header may straddle two reads.
        var members = new[] { Gzip(Lines(1, 10)), Gzip(Lines(11, 60_000)), Gzip(Lines(60_001, 60_003)) };
        var whole = members.SelectMany(m => m).ToArray();
        var scanner = new LandingScanner();
        var records = Scan(whole, scanner);
        Assert.Equal(60_003, records.Count);
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal("{\"a\":60003,\"pad\":\"" + new string((char)('a' + 60_003 % 26), 60_003 % 97) + "\"}", Text(records[^1]));
        Assert.False(scanner.CompressionCorrupt);
        Assert.True(scanner.WasGzip);
    }

    [Fact]
    public void Gzip_members_concatenated_with_the_last_one_cut_at_a_flush_point_are_reported_corrupt()
    {
        // Cut the last member right after a flush: its deflate data ends cleanly, with no last block and no trailer.
        using var ms = new MemoryStream();
        var cut = 0L;
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(Encoding.UTF8.GetBytes(Lines(11, 1000)));
            gz.Flush();
            cut = ms.Length;
            gz.Write(Encoding.UTF8.GetBytes(Lines(1001, 2000)));
        }
        var cutMember = ms.ToArray().AsSpan(0, (int)cut).ToArray();
        var scanner = new LandingScanner();
        var records = Scan([.. Gzip(Lines(1, 10)), .. cutMember], scanner);
        Assert.Equal(1000, records.Count(r => r.Error is null));
        Assert.Equal(ReasonCodes.CorruptCompression, records[^1].Error);
        Assert.True(scanner.CompressionCorrupt);
    }

    [Fact]
    public void Gzip_members_cut_inside_a_later_header_or_followed_by_header_bytes_are_reported_corrupt()
    {
        // A later member's header carries MTIME 0 (gzip -n, zlib): cut 8 bytes into it, the last "trailer" read is
        // that MTIME and the earlier member's length alone equals the output; the object must still be reported.
        var first = Gzip(Lines(1, 10));
        var second = Gzip(Lines(11, 20));
        Assert.Equal(0, BitConverter.ToInt32(second, 4)); // .NET writes MTIME 0
        foreach (var cut in new[] { 4, 8, 9, 10, 12, 19 })
        {
            var scanner = new LandingScanner();
            var records = Scan([.. first, .. second.AsSpan(0, cut)], scanner);
            Assert.Equal(10, records.Count(r => r.Error is null));
            Assert.True(scanner.CompressionCorrupt, $"cut {cut} bytes into the second member");
        }
        // An empty member before the cut one: its trailer says 0 bytes, so a cut header's MTIME 0 would balance the sum.
        var empty = Gzip("");
        foreach (var cut in new[] { 2, 3, 8, 9, 10, 11, 19 })
        {
            var scanner = new LandingScanner();
            var records = Scan([.. first, .. empty, .. second.AsSpan(0, cut)], scanner);
            Assert.Equal(10, records.Count(r => r.Error is null));
            Assert.True(scanner.CompressionCorrupt, $"cut {cut} bytes into the member after an empty one");
        }
        var whole = new LandingScanner();
        Assert.Equal(20, Scan([.. first, .. empty, .. second, .. empty], whole).Count(r => r.Error is null));
        Assert.False(whole.CompressionCorrupt);
        // Two whole members, then the first bytes of a header and nothing else.
        var tail = new LandingScanner();
        var withHeaderBytes = Scan([.. first, .. second, 0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0], tail);
        Assert.Equal(20, withHeaderBytes.Count(r => r.Error is null));
        Assert.True(tail.CompressionCorrupt);
    }

    [Fact]
    public void A_gzipped_array_is_unwrapped()
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(Encoding.UTF8.GetBytes("[{\"a\":1},\n{\"a\":2}]"));
        var scanner = new LandingScanner();
        var records = Scan(ms.ToArray(), scanner);
        Assert.Equal([1L, 2L], records.Select(r => r.LineNumber));
        Assert.True(scanner.WasGzip && scanner.UnwrappedArray);
    }

    [Fact]
    public void A_json_lines_file_is_not_an_array_and_a_bracket_line_later_is_not_an_object()
    {
        var scanner = new LandingScanner();
        var records = Scan("{\"a\":1}\n[{\"a\":2}]\n", scanner);
        Assert.Equal([null, ReasonCodes.NotAnObject], records.Select(r => r.Error));
        Assert.Equal("line 2 is an array, not a JSON object", records[1].Detail);
        Assert.False(scanner.UnwrappedArray);
    }

    /// <summary>A stream of a large one-line array produced on the fly (never held in memory).</summary>
    private sealed class GeneratedArray(int elements) : ForwardOnlyReadStream
    {
        private static readonly byte[] Element = Encoding.UTF8.GetBytes("{\"user\":\"a@example.com\",\"timestamp\":1750000001000,\"x\":1.0,\"y\":0.0,\"z\":0.0}");
        private int _written = -1; // -1: the opening bracket is next
        private int _at;
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = 0;
            while (n < count)
            {
                if (_written == -1) { buffer[offset + n++] = (byte)'['; _written = 0; continue; }
                if (_written == elements) { if (_at == 0) { buffer[offset + n++] = (byte)']'; _at = 1; } break; }
                if (_at == Element.Length) { buffer[offset + n++] = _written + 1 < elements ? (byte)',' : (byte)' '; _at = 0; _written++; continue; }
                var k = Math.Min(count - n, Element.Length - _at);
                Element.AsSpan(_at, k).CopyTo(buffer.AsSpan(offset + n));
                _at += k; n += k;
            }
            return n;
        }
    }

    [Fact]
    public void A_large_one_line_array_streams_in_bounded_memory()
    {
        const int elements = 2_000_000; // about 150 MB on one line
        var scanner = new LandingScanner();
        long good = 0, lastOffset = -1;
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var r in scanner.Scan(new GeneratedArray(elements)))
        {
            if (r.Error is null && r.Bytes.Span[0] == (byte)'{' && r.Bytes.Span[^1] == (byte)'}') good++;
            Assert.True(r.ByteOffset > lastOffset);
            lastOffset = r.ByteOffset;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(elements, good);
        Assert.Equal(elements, scanner.ArrayElements);
        Assert.False(scanner.ArrayNotClosed);
        Assert.True(allocated < 4 << 20, $"allocated {allocated:N0} bytes for {scanner.BytesRead:N0} bytes scanned");
    }
    /// <summary>Ten pretty-printed or one-per-line records, the sixth cut short after its timestamp's first digits.</summary>
    private static string[] Records(int n = 10) =>
        Enumerable.Range(1, n).Select(i => $"{{\"user\":\"u{i}@x.com\",\"timestamp\":165556444400{i % 10},\"x\":{i}}}").ToArray();

    private const string CutShort = "{\"user\":\"cut@x.com\",\"timestamp\":16555";

    [Fact]
    public void A_cut_short_element_of_a_top_level_array_is_quarantined_alone_and_the_elements_after_it_are_read()
    {
        // Once, the cut element swallowed every element after it (10,000 of them in a producer's file) into one record.
        var r = Records();
        var scanner = new LandingScanner();
        var records = Scan("[" + string.Join(",\n", r[..5].Append(CutShort).Concat(r[5..])) + "]\n", scanner);
        Assert.Equal(11, records.Count);
        Assert.Equal(Enumerable.Repeat<string?>(null, 5).Append(ReasonCodes.TruncatedJson).Concat(Enumerable.Repeat<string?>(null, 5)), records.Select(x => x.Error));
        Assert.Equal("array element 6 is cut short: a value starts at line 7 where it cannot go on", records[5].Detail);
        Assert.Equal(CutShort + ",", Text(records[5]));
        Assert.Equal(r[5..], records.Skip(6).Select(Text));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L], records.Select(x => x.LineNumber));
        Assert.False(scanner.ArrayNotClosed); // the array does close: no "cut short object" warning
        Assert.Equal(11, scanner.ArrayElements);
    }

    [Fact]
    public void An_unclosed_quote_in_an_array_element_ends_that_element_at_its_line_break()
    {
        var r = Records(4);
        var broken = "{\"user\":\"u@x.com,\"timestamp\":1655564444000}";
        var records = Scan("[\n" + string.Join(",\n", new[] { r[0], broken, r[1], r[2] }) + "\n]\n");
        Assert.Equal([null, ReasonCodes.TruncatedJson, null, null], records.Select(x => x.Error));
        Assert.Equal("array element 2 is cut short: a string is still open at the end of line 3", records[1].Detail);
        Assert.Equal(new[] { r[1], r[2] }, records.Skip(2).Select(Text));
    }

    [Fact]
    public void A_cut_short_pretty_printed_record_is_quarantined_alone_and_the_records_after_it_are_read()
    {
        static string Pretty(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var r = Records();
        var text = string.Join("\n", r[..5].Select(Pretty)) + "\n{\n  \"user\": \"cut@x.com\",\n  \"timestamp\": 16555\n" + string.Join("\n", r[5..].Select(Pretty)) + "\n";
        var records = Scan(text);
        Assert.Equal(11, records.Count);
        Assert.Equal(Enumerable.Repeat<string?>(null, 5).Append(ReasonCodes.TruncatedJson).Concat(Enumerable.Repeat<string?>(null, 5)), records.Select(x => x.Error));
        Assert.Equal("the record starting at line 26 is cut short: line 29 cannot continue it", records[5].Detail);
        Assert.Equal(r[5..].Select(Pretty).Select(p => p.Trim()), records.Skip(6).Select(Text));

        // Valid pretty-printed shapes are not cut: a value on the line after its key, arrays of objects, comma-first lines.
        var valid = "{\n  \"a\":\n  {\n    \"b\": [\n      {\"c\": 1},\n      {\"c\": 2}\n    ]\n  }\n  , \"d\": [\n    1\n    , 2\n  ]\n}\n";
        var one = Assert.Single(Scan(valid));
        Assert.Null(one.Error);
        Assert.Equal(valid.Trim(), Text(one));
    }

    [Fact]
    public void A_line_with_an_unclosed_string_is_invalid_alone_and_does_not_swallow_the_lines_after_it()
    {
        var records = Scan("{\"bad json\n42\n{\"customerName\":\"x\"}\n{\"a\":1\n[1]\n{\"a\":2}\n");
        Assert.Equal([ReasonCodes.TruncatedJson, ReasonCodes.NotAnObject, null, ReasonCodes.TruncatedJson, ReasonCodes.NotAnObject, null], records.Select(x => x.Error));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], records.Select(x => x.LineNumber));
    }

    [Fact]
    public void Byte_order_marks_of_concatenated_files_are_skipped_before_lines_and_array_elements()
    {
        var bom = "\uFEFF";
        var r = Records(3);
        var scanner = new LandingScanner();
        var lines = Scan(bom + r[0] + "\n" + bom + r[1] + "\n  " + bom + r[2] + "\n", scanner);
        Assert.Equal(r, lines.Select(Text));
        Assert.All(lines, x => Assert.Null(x.Error));
        Assert.Equal(2, scanner.StrayByteOrderMarks);
        Assert.True(scanner.HadBom);

        var arrays = new LandingScanner();
        var elements = Scan("[" + r[0] + ",\n" + bom + r[1] + "," + bom + r[2] + "]", arrays);
        Assert.Equal(r, elements.Select(Text));
        Assert.All(elements, x => Assert.Null(x.Error));
        Assert.Equal(2, arrays.StrayByteOrderMarks);
    }
    [Theory]
    [InlineData("indent=0 with an empty object in an array", "{\n\"a\": 1,\n\"extra\": [\n{}\n]\n}\n{\"a\": 2}\n")]
    [InlineData("one-line objects in column 0 inside an array", "{\"a\": 1, \"items\": [\n{\"a\": 1},\n{\"b\": 2}\n]}\n{\"a\": 2}\n")]
    [InlineData("a one-line object value on the line after its key", "{\n\"a\": 1, \"extra\":\n{\"k\": 1}\n}\n{\"a\": 2, \"extra\":\n  {}\n}\n")]
    [InlineData("the colon on the line after the key", "{\"a\"\n: 1, \"b\"\n  : 2}\n{\"a\": 2}\n")]
    public void Valid_pretty_printed_json_is_never_cut(string style, string text)
    {
        var records = Scan(text);
        Assert.True(records.Count == 2, $"{style}: {string.Join(" | ", records.Select(r => r.Error + " " + Text(r)))}");
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.All(records, r => System.Text.Json.JsonDocument.Parse(r.Bytes).Dispose());
    }

    [Fact]
    public void A_json_lines_record_cut_after_a_key_does_not_take_the_next_record_as_its_value()
    {
        // The one place valid JSON loses: a one-line object in the first column right under a one-line start ending in
        // ':' is read as the next JSON-lines record, because a line cut after a key's ':' is what uploads cut short give.
        var records = Scan("{\"user\":\"a@x.com\",\"timestamp\":\n{\"user\":\"b@x.com\",\"timestamp\":1}\n{\"a\":3}\n");
        Assert.Equal([ReasonCodes.TruncatedJson, null, null], records.Select(r => r.Error));
        Assert.Equal("{\"user\":\"b@x.com\",\"timestamp\":1}", Text(records[1]));
    }

    [Fact]
    public void A_cut_record_followed_by_a_line_of_two_records_keeps_both()
    {
        var records = Scan("{\"a\":1,\n{\"a\":2}{\"a\":3}\n");
        Assert.Equal([ReasonCodes.TruncatedJson, null, null], records.Select(r => r.Error));
        Assert.Equal(["{\"a\":2}", "{\"a\":3}"], records.Skip(1).Select(Text));
    }

    [Fact]
    public void Objects_joined_by_a_byte_order_mark_on_one_line_are_two_records()
    {
        // cat of files saved with a BOM and no final line break (Notepad's default).
        var records = Scan("\uFEFF{\"a\":1}\uFEFF{\"a\":2}\n");
        Assert.Equal(["{\"a\":1}", "{\"a\":2}"], records.Select(Text));
        Assert.All(records, r => Assert.Null(r.Error));
    }

    [Fact]
    public void An_array_element_cut_inside_a_nested_array_ends_where_the_next_element_starts()
    {
        var good = Enumerable.Range(1, 50).Select(i => $"{{\"a\":{i}}}").ToList();
        var records = Scan("[\n{\"a\":0,\"arr\":[1,2\n" + string.Join(",\n", good) + "\n]\n");
        Assert.Equal(51, records.Count);
        Assert.Equal(ReasonCodes.TruncatedJson, records[0].Error);
        Assert.Equal("array element 1 is cut short: a value starts at line 3 where it cannot go on", records[0].Detail);
        Assert.Equal(good, records.Skip(1).Select(Text));
        Assert.All(records.Skip(1), r => Assert.Null(r.Error));
    }

    [Fact]
    public void An_array_with_bare_cr_line_ends_and_an_open_string_keeps_the_elements_after_it()
    {
        var records = Scan("[\r{\"a\":1},\r{\"a\":\"open},\r{\"a\":3},\r{\"a\":4}\r]\r");
        Assert.Equal([null, ReasonCodes.TruncatedJson, null, null], records.Select(r => r.Error));
        Assert.Equal(["{\"a\":3}", "{\"a\":4}"], records.Skip(2).Select(Text));
    }

    [Fact]
    public void A_pretty_printed_record_over_the_limit_is_one_record_too_large_and_the_records_after_it_are_read()
    {
        var big = "{\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"  \"k{i}\": \"{new string('x', 60)}\",\n")) + "  \"end\": 1\n}\n";
        Assert.True(big.Length > LandingScanner.MaxRecordBytes);
        var records = Scan("{\"a\":1}\n" + big + "{\"a\":2}\n{\n  \"a\": 3\n}\n");
        Assert.Equal([null, ReasonCodes.RecordTooLarge, null, null], records.Select(r => r.Error));
        Assert.Equal("{\"a\":2}", Text(records[2]));
    }
    private static string Reading(int i) => $"{{\"user\":\"a@x.com\",\"timestamp\":{1655564444000 + i},\"x\":1,\"y\":2,\"z\":3}}";

    [Fact]
    public void A_too_large_array_element_holding_records_is_one_record_too_large()
    {
        // Past 1 MiB only the element's first bytes are kept; its nested readings once came out as 19,903 accepted records.
        var nested = string.Join(",\n    ", Enumerable.Range(0, 20_000).Select(Reading));
        var text = "[\n  {\"user\":\"a@x.com\",\"blob\":\"" + new string('a', 1_100_000) + "\",\n   \"h\": [\n    " + nested + "\n   ]\n  },\n  " + Reading(1) + "\n]\n";
        var records = Scan(text);
        Assert.Equal([ReasonCodes.RecordTooLarge, null], records.Select(r => r.Error));
        Assert.Equal(Reading(1), Text(records[1]));
    }

    [Fact]
    public void A_pretty_printed_record_with_a_line_over_the_limit_is_one_record_too_large()
    {
        var text = "{\n  \"user\": \"a@x.com\",\n  \"blob\": \"" + new string('a', 1_100_000) + "\",\n  \"h\": [\n    " + Reading(9) + "\n  ]\n}\n" + Reading(1) + "\n";
        var records = Scan(text);
        Assert.Equal([ReasonCodes.RecordTooLarge, null], records.Select(r => r.Error));
        Assert.Equal(1L, records[0].LineNumber);
        Assert.Equal(Reading(1), Text(records[1]));
    }

    [Fact]
    public void A_missing_comma_inside_a_nested_array_on_one_line_rejects_that_element_only()
    {
        // A value after a value on the same line is a malformed record that still closes, not a cut: once the resync
        // started inside it and the nested ']' closed the top-level array, losing every element after it.
        var bad = "{\"user\":\"a@x.com\",\"timestamp\":1655564444000,\"h\":[{\"a\":1} {\"b\":2}]}";
        var records = Scan("[\n" + bad + ",\n" + string.Join(",\n", Enumerable.Range(1, 5).Select(Reading)) + "\n]\n");
        Assert.Equal(6, records.Count);
        Assert.Equal(bad, Text(records[0])); // whole, for the parser to reject
        Assert.Equal(Enumerable.Range(1, 5).Select(Reading), records.Skip(1).Select(Text));
        Assert.All(records.Skip(1), r => Assert.Null(r.Error));
    }
    [Fact]
    public void Pretty_printed_objects_concatenated_are_one_record_each()
    {
        // "".join(json.dumps(r, indent=2) for r in rs): once one invalid_json for the lot.
        static string Pretty(int i) => System.Text.Json.Nodes.JsonNode.Parse(Reading(i))!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var records = Scan(string.Concat(Enumerable.Range(0, 5).Select(Pretty)) + "\n");
        Assert.Equal(5, records.Count);
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => Reading(i)), records.Select(r => System.Text.Json.Nodes.JsonNode.Parse(r.Bytes.Span)!.ToJsonString()));
        // A one-line record on a pretty record's closing line.
        var shared = Scan(Pretty(1) + " " + Reading(2) + "\n" + Reading(3) + "\n");
        Assert.Equal(3, shared.Count);
        Assert.All(shared, r => Assert.Null(r.Error));
        Assert.Equal(Reading(2), Text(shared[1]));
    }
}
