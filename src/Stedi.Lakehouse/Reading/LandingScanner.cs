using System.Buffers;
using System.IO.Compression;
using System.Text.Json;

namespace Stedi.Lakehouse.Reading;

/// <summary>One candidate record cut out of a landing object: the bytes of one top-level JSON value, or an error.</summary>
/// <param name="Bytes">
/// The record's UTF-8 bytes (one line, several lines of a pretty-printed object, or one element of a top-level array).
/// A view into the scanner's buffers: valid until the next record is requested (copy it to keep it).
/// </param>
/// <param name="LineNumber">1-based line where the record starts.</param>
/// <param name="ByteOffset">0-based byte offset in the (decompressed) object of that line (JSON lines) or of the element's first byte (array elements).</param>
/// <param name="Error">Null for a candidate record; else a reason code (<see cref="ReasonCodes"/>) for text that is not one.</param>
/// <param name="Detail">For an error, a specific explanation when the scanner has one (e.g. <c>array element 3 is a number, not a JSON object</c>); else null.</param>
public readonly record struct ScannedRecord(ReadOnlyMemory<byte> Bytes, long LineNumber, long ByteOffset, string? Error, string? Detail = null);

/// <summary>
/// Cuts a landing object into records while streaming it: JSON lines, pretty-printed JSON objects spread over
/// several lines, or one top-level JSON array (<c>[ {…}, {…} ]</c>, on one line or pretty-printed) whose elements
/// are the records; gzip detected from the content (magic bytes 1F 8B, never the file name), a leading UTF-8 BOM
/// stripped. Whether the object is an array is decided once, from its first non-blank byte, so JSON lines pay
/// nothing for it. Memory is bounded by <see cref="MaxRecordBytes"/>, whatever the object's size (a 1 GB array on
/// one line streams like a 1 GB JSON-lines file). Text that is not a record (garbage, a truncated object, an
/// over-long line, an array element that is not an object, text after an array's closing bracket) comes out as a
/// <see cref="ScannedRecord"/> with an error so that it can be quarantined; in JSON lines the scanner resynchronises
/// at the next line that is a complete object, so a bad line never swallows its good neighbours. Records are views
/// into reused buffers: the common JSON-lines record is handed out without a copy.
/// </summary>
public sealed class LandingScanner
{
    /// <summary>Largest record accepted, in bytes (1 MiB); longer text is reported as <see cref="ReasonCodes.RecordTooLarge"/>.</summary>
    public const int MaxRecordBytes = 1 << 20;

    /// <summary>Bytes of an over-long record or of stray text kept for its quarantine record.</summary>
    private const int KeptBytes = 4096;

    /// <summary>Leading whitespace looked through to find whether the object is an array (beyond it, JSON lines are assumed).</summary>
    private const int PeekLimit = 1 << 16;

    /// <summary>Whether the object was gzip-compressed (detected from its first bytes).</summary>
    public bool WasGzip { get; private set; }

    /// <summary>Whether the object started with a UTF-8 byte order mark.</summary>
    public bool HadBom { get; private set; }

    /// <summary>Whether the object was UTF-16 text (byte order mark FF FE or FE FF), transcoded to UTF-8 while reading.</summary>
    public bool WasUtf16 { get; private set; }

    /// <summary>
    /// Whether the compressed content was corrupt or cut short (a truncated or damaged gzip stream): the records
    /// before the damage were scanned, the rest of the object is reported as one <see cref="ReasonCodes.CorruptCompression"/> record.
    /// </summary>
    public bool CompressionCorrupt { get; private set; }

    /// <summary>
    /// Whether the compressed data failed an integrity check (a CRC-32 that does not match, invalid deflate data) rather
    /// than stopping short: what was decompressed from it cannot be trusted (a flipped bit inside stored or deflated data
    /// decodes to other digits that still parse), so an ingest keeps none of it. A cut-short object is not this: its
    /// records up to the cut stand. <see cref="CompressionDetail"/> says what was found.
    /// </summary>
    public bool CompressionDataCorrupt => CompressionDetail?.StartsWith(CorruptPrefix, StringComparison.Ordinal) == true;

    /// <summary>What was wrong with the compressed data (the decompressor's message), or null.</summary>
    public string? CompressionDetail { get; private set; }

    private const string CorruptPrefix = "compressed data is corrupt: ";

    /// <summary>Byte order marks found at the start of a record other than the object's first (files saved with one and
    /// concatenated); each was skipped like the leading one.</summary>
    public int StrayByteOrderMarks { get; private set; }

    /// <summary>Whether the object was one top-level JSON array, unwrapped: each element was scanned as a record.</summary>
    public bool UnwrappedArray { get; private set; }

    /// <summary>Elements of the unwrapped array (objects or not; 0 when the object was not an array).</summary>
    public long ArrayElements { get; private set; }

    /// <summary>Whether the unwrapped array ended without its closing bracket (the object was cut short).</summary>
    public bool ArrayNotClosed { get; private set; }

    /// <summary>Bytes of (decompressed) content read so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Scans <paramref name="input"/> to its end. The stream is read forward only; it is not disposed.</summary>
    public IEnumerable<ScannedRecord> Scan(Stream input)
    {
        var source = Decompress(input);
        if (StartsWithArray(ref source))
        {
            foreach (var r in ScanArray(source)) yield return r;
            yield break;
        }
        var lines = new LineReader(source);
        var acc = new MemoryStream();
        long accLine = 0, accOffset = 0;
        var state = new DepthState();
        var first = true;
        ReadOnlyMemory<byte> line = default;
        long lineNo = 0, offset = 0;
        bool tooLong = false, again = false; // again: the line read last starts a record after the one cut short before it
        bool skipping = false; // inside a multi-line record already reported as too large: its lines are passed over
        byte skippedLast = 0; // the last significant byte of the lines passed over
        while (again || lines.Next(out line, out lineNo, out offset, out tooLong))
        {
            again = false;
            if (first)
            {
                first = false;
                if (StartsWithBom(line.Span)) { HadBom = true; line = line[3..]; offset += 3; }
            }
            BytesRead = lines.Position;
            if (tooLong)
            {
                if (skipping) continue; // inside a record already reported as too large
                if (acc.Length > 0)
                {
                    // A line over the limit inside a multi-line record: the record is too large, reported once where it
                    // starts, and its remaining lines are passed over (the long line taken for a value that leaves the
                    // nesting as it was, as a long string or number does) — never read as records of their own.
                    yield return new(Held(acc)[..(int)Math.Min(acc.Length, KeptBytes)], accLine, accOffset, ReasonCodes.RecordTooLarge);
                    skippedLast = (byte)'"';
                    acc.SetLength(0); acc.WriteByte((byte)' ');
                    skipping = true;
                    continue;
                }
                yield return new(line, lineNo, offset, ReasonCodes.RecordTooLarge);
                continue;
            }
            var trimmed = Trim(line.Span);
            if (acc.Length == 0)
            {
                // A byte order mark at the start of a later line: files saved with one and concatenated (cat a.json b.json).
                if (StartsWithBom(trimmed))
                {
                    var skip = line.Span.IndexOf((byte)0xEF) + 3;
                    line = line[skip..]; offset += skip; trimmed = trimmed[3..];
                    StrayByteOrderMarks++;
                }
                if (trimmed.IsEmpty) continue;
                if (trimmed[0] != (byte)'{')
                {
                    // A line that is one JSON value but not an object (5, "str", null, [1]) says so, as an array element does.
                    var what = ArrayReader.WhatValue(trimmed);
                    yield return what is null
                        ? new(line, lineNo, offset, ReasonCodes.InvalidJson)
                        : new(line, lineNo, offset, ReasonCodes.NotAnObject, $"line {lineNo} is {what}, not a JSON object");
                    continue;
                }
                state = default;
                state.Feed(line.Span);
                // Several objects on one line ({…}{…}): each is a record, at its own byte offset, rather than the whole line one
                // invalid record. (Records ended by a bare '\r' never get here together: the line reader breaks lines there.)
                if (!state.Broken && state.FirstClose >= 0 && HoldsAnotherObject(line.Span[(state.FirstClose + 1)..]))
                {
                    var rest = line;
                    var restOffset = offset;
                    while (true)
                    {
                        state = default;
                        state.Feed(rest.Span);
                        if (state.Broken || state.FirstClose < 0) break; // broken, or an object that goes on below: as before
                        yield return new(rest[..(state.FirstClose + 1)], lineNo, restOffset, null);
                        var next = SkipWhitespaceAndBoms(rest.Span, state.FirstClose + 1);
                        rest = rest[next..];
                        restOffset += next;
                        if (rest.IsEmpty || rest.Span[0] != (byte)'{') break;
                    }
                    if (rest.IsEmpty) { state = default; continue; }
                    line = rest;
                    offset = restOffset;
                    state = default;
                    state.Feed(line.Span);
                }
                // The common case, one object per line: handed on as a slice of the read buffer, valid until the next record.
                if (state.Depth == 0 || state.Broken) { yield return new(line, lineNo, offset, state.Broken ? state.BrokenReason : null); state = default; continue; }
                acc.Write(line.Span); acc.WriteByte((byte)'\n');
                accLine = lineNo; accOffset = offset;
                continue;
            }
            // Inside a multi-line record. A line that cannot go on it (an object opening where only a key may start, a value
            // after a value): the record was cut short before it, and this line starts the next one, read as any record's
            // first line (a pretty-printed record cut short would otherwise swallow every record after it). Valid JSON is
            // never cut: an object after ':' or as an array element, in any column, is part of the record.
            // One exception keeps JSON lines whole: a line cut right after a key's ':' and followed, in the first column,
            // by a line that is a complete object — a JSON-lines record, not a value (pretty-printed JSON that puts a
            // one-line object value in the first column under a one-line start is the price).
            var last = skipping ? skippedLast : LastSignificant(Held(acc).Span);
            if (!trimmed.IsEmpty && (state.CannotContinueWith(last, trimmed[0])
                || (!skipping && last == (byte)':' && lineNo == accLine + 1 && line.Span[0] == (byte)'{' && IsCompleteObject(trimmed))))
            {
                if (!skipping)
                    yield return new(Held(acc), accLine, accOffset, ReasonCodes.TruncatedJson,
                        $"the record starting at line {accLine} is cut short: line {lineNo} cannot continue it");
                acc.SetLength(0); state = default; skipping = false;
                again = true;
                continue;
            }
            state.Feed(line.Span);
            if (skipping)
            {
                // The rest of a record already reported as too large: followed to its end, not quarantined line by line.
                if (state.Broken || state.Depth == 0) { state = default; skipping = false; acc.SetLength(0); }
                else if (!trimmed.IsEmpty) skippedLast = trimmed[^1];
                continue;
            }
            // The record closes inside this line and another object follows it (pretty-printed objects concatenated,
            // "}{", or a one-line record on a pretty record's closing line): the record ends at its brace and the rest
            // of the line is read as any record's first line.
            if (state.FirstClose >= 0 && HoldsAnotherObject(line.Span[(state.FirstClose + 1)..]))
            {
                var close = state.FirstClose;
                acc.Write(line.Span[..(close + 1)]);
                yield return new(Held(acc), accLine, accOffset, null);
                acc.SetLength(0); state = default;
                var next = SkipWhitespaceAndBoms(line.Span, close + 1);
                line = line[next..]; offset += next;
                again = true;
                continue;
            }
            acc.Write(line.Span); acc.WriteByte((byte)'\n');
            if (state.Broken) { yield return new(Held(acc), accLine, accOffset, state.BrokenReason); acc.SetLength(0); state = default; }
            else if (state.Depth == 0) { yield return new(Held(acc), accLine, accOffset, null); acc.SetLength(0); state = default; }
            else if (acc.Length > MaxRecordBytes)
            {
                yield return new(Held(acc)[..KeptBytes], accLine, accOffset, ReasonCodes.RecordTooLarge);
                skippedLast = LastSignificant(Held(acc).Span);
                acc.SetLength(0); acc.WriteByte((byte)' '); // not empty: the lines after it are still inside the record
                skipping = true;
            }
        }
        BytesRead = lines.Position;
        if (acc.Length > 0 && !skipping) yield return new(Held(acc), accLine, accOffset, ReasonCodes.TruncatedJson);
        if (lines.Corrupt is not null)
        {
            CompressionCorrupt = true;
            CompressionDetail = lines.Corrupt;
            yield return new(ReadOnlyMemory<byte>.Empty, lines.LineNumber + 1, lines.Position, ReasonCodes.CorruptCompression);
        }
    }

    /// <summary>
    /// Reads like <see cref="Stream.Read(byte[], int, int)"/>, but a damaged or cut-short gzip stream ends the object
    /// instead of throwing: what was decompressed so far stands, and <paramref name="corrupt"/> says what went wrong.
    /// </summary>
    private static int ReadOrCorrupt(Stream s, byte[] buffer, int offset, int count, out string? corrupt)
    {
        corrupt = null;
        try { return s.Read(buffer, offset, count); }
        catch (InvalidDataException e) { corrupt = CorruptPrefix + e.Message; return 0; }
        catch (EndOfStreamException e) { corrupt = "compressed data is truncated: " + e.Message; return 0; }
    }

    /// <summary>Whether the text after a line's first complete object starts (after white space) another object.</summary>
    private static bool HoldsAnotherObject(ReadOnlySpan<byte> after)
    {
        var i = SkipWhitespaceAndBoms(after, 0);
        return i < after.Length && after[i] == (byte)'{';
    }

    /// <summary>The first position from <paramref name="i"/> that is neither white space nor a UTF-8 byte order mark
    /// (files saved with one and concatenated without a final line break put it between two objects).</summary>
    private static int SkipWhitespaceAndBoms(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length)
        {
            if (IsWs(s[i])) i++;
            else if (StartsWithBom(s[i..])) i += 3;
            else break;
        }
        return i;
    }

    /// <summary>The bytes a memory stream holds, without a copy (valid until it is written again).</summary>
    private static ReadOnlyMemory<byte> Held(MemoryStream ms) => ms.GetBuffer().AsMemory(0, (int)ms.Length);

    /// <summary>
    /// Whether the first non-blank byte (after a UTF-8 BOM) is '['. Reads at most <see cref="PeekLimit"/> bytes and puts
    /// them back in front of <paramref name="source"/>.
    /// </summary>
    private static bool StartsWithArray(ref Stream source)
    {
        var head = new byte[256];
        int n = 0, scanned = 0, found = -1;
        while (n < PeekLimit)
        {
            if (n == head.Length) Array.Resize(ref head, head.Length * 4);
            int r;
            try { r = source.Read(head, n, head.Length - n); }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                // Damaged compressed data: the line reader reports it after what was readable.
                source = new PrefixedStream(head.AsMemory(0, n), new FailingStream(e));
                return false;
            }
            if (r == 0) break;
            n += r;
            if (n < 3 && head[0] == 0xEF) continue; // a BOM may be forming
            var bom = StartsWithBom(head.AsSpan(0, n)) ? 3 : 0;
            for (var i = Math.Max(scanned, bom); i < n && found < 0; i++)
                if (!IsWs(head[i])) found = i;
            scanned = n;
            if (found >= 0) break;
        }
        source = new PrefixedStream(head.AsMemory(0, n), source);
        return found >= 0 && head[found] == (byte)'[';
    }

    /// <summary>Scans a top-level JSON array: each element is a record; see <see cref="ArrayReader"/>.</summary>
    private IEnumerable<ScannedRecord> ScanArray(Stream source)
    {
        UnwrappedArray = true;
        var reader = new ArrayReader(source);
        while (reader.Next(out var record))
        {
            BytesRead = reader.Position;
            HadBom = reader.HadBom;
            StrayByteOrderMarks = reader.StrayByteOrderMarks;
            yield return record;
        }
        BytesRead = reader.Position;
        HadBom = reader.HadBom;
        StrayByteOrderMarks = reader.StrayByteOrderMarks;
        ArrayElements = reader.Elements;
        ArrayNotClosed = !reader.Closed;
        if (reader.Corrupt is not null)
        {
            CompressionCorrupt = true;
            CompressionDetail = reader.Corrupt;
            yield return new(ReadOnlyMemory<byte>.Empty, reader.Line, reader.Position, ReasonCodes.CorruptCompression);
        }
    }

    private Stream Decompress(Stream input)
    {
        // Peek two bytes without losing them (a prefix stream hands them back first). No extra buffering layer: the line
        // reader reads 64 KiB at a time, which the input (a buffered file, or an S3 body) serves without another copy.
        var head = new byte[2];
        var n = 0;
        while (n < 2) { var r = input.Read(head, n, 2 - n); if (r == 0) break; n += r; }
        Stream rest = new PrefixedStream(head.AsMemory(0, n), input);
        if (n == 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            WasGzip = true;
            var compressed = new TailKeepingStream(rest);
            rest = new GzipTrailerCheckStream(new GZipStream(compressed, CompressionMode.Decompress), compressed);
            // The decompressed text may itself start with a UTF-16 byte order mark.
            var inner = new byte[2];
            n = 0;
            try { while (n < 2) { var r = rest.Read(inner, n, 2 - n); if (r == 0) break; n += r; } }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException) { return new PrefixedStream(inner.AsMemory(0, n), new FailingStream(e)); }
            head = inner;
            rest = new PrefixedStream(inner.AsMemory(0, n), rest);
        }
        // UTF-16 text (what Windows editors save as "Unicode"): transcoded to UTF-8 while streaming; its BOM becomes the UTF-8 BOM the scanner strips.
        // Without a BOM, a JSON object or array saved as UTF-16 starts with '{' or '[' and a zero byte (little-endian) or
        // the other way round (big-endian): never UTF-8 JSON, whose text holds no zero byte.
        var littleEndian = n == 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] is (byte)'{' or (byte)'[' && head[1] == 0));
        var bigEndian = n == 2 && ((head[0] == 0xFE && head[1] == 0xFF) || (head[0] == 0 && head[1] is (byte)'{' or (byte)'['));
        if (littleEndian || bigEndian)
        {
            WasUtf16 = true;
            var encoding = littleEndian ? System.Text.Encoding.Unicode : System.Text.Encoding.BigEndianUnicode;
            return System.Text.Encoding.CreateTranscodingStream(rest, encoding, System.Text.Encoding.UTF8);
        }
        return rest;
    }

    /// <summary>Stands for the rest of a gzip stream found corrupt while peeking at its first bytes.</summary>
    private sealed class FailingStream(Exception found) : ForwardOnlyReadStream
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            throw found switch
            {
                TruncatedGzipException t => new TruncatedGzipException(t.Message),
                EndOfStreamException e => new EndOfStreamException(e.Message),
                _ => new InvalidDataException(found.Message),
            };
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        var a = 0; var b = s.Length;
        while (a < b && IsWs(s[a])) a++;
        while (b > a && IsWs(s[b - 1])) b--;
        return s[a..b];
    }

    private static bool IsWs(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    /// <summary>Whether <paramref name="s"/> starts with the UTF-8 byte order mark (EF BB BF).</summary>
    private static bool StartsWithBom(ReadOnlySpan<byte> s) => s.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]);

    /// <summary>Whether <paramref name="s"/> is one balanced object on its own ('{' … '}').</summary>
    private static bool IsCompleteObject(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s[0] != (byte)'{' || s[^1] != (byte)'}') return false;
        var st = default(DepthState);
        st.Feed(s);
        return !st.Broken && st.Depth == 0 && st.FirstClose == s.Length - 1;
    }

    /// <summary>The position of the last byte of <paramref name="s"/> that is not white space, or −1.</summary>
    private static int LastSignificantAt(ReadOnlySpan<byte> s)
    {
        var i = s.Length - 1;
        while (i >= 0 && IsWs(s[i])) i--;
        return i;
    }

    /// <summary>The last byte of <paramref name="s"/> that is not white space, or 0.</summary>
    private static byte LastSignificant(ReadOnlySpan<byte> s) => LastSignificantAt(s) is var i and >= 0 ? s[i] : (byte)0;


    /// <summary>Whether each open container, at depths 1 to 64, is an object or an array: one bit a depth.</summary>
    private struct ContainerKinds
    {
        private ulong _objects;

        /// <summary>Records the container opened at <paramref name="depth"/> (beyond 64, nothing is known).</summary>
        public void Open(int depth, bool isObject)
        {
            if (depth is < 1 or > 64) return;
            if (isObject) _objects |= 1UL << (depth - 1);
            else _objects &= ~(1UL << (depth - 1));
        }

        /// <summary>Whether the container open at <paramref name="depth"/> is an object; null at depth 0 or beyond 64.</summary>
        public readonly bool? IsObject(int depth) => depth is < 1 or > 64 ? null : (_objects & (1UL << (depth - 1))) != 0;
    }

    /// <summary>
    /// Tracks object/array nesting across lines, ignoring brackets inside strings. A string still open at the end of a
    /// line breaks the record: JSON strings cannot hold a raw line break, so the quote that would close it belongs to
    /// text further down (an unclosed quote would otherwise turn every record after it inside out).
    /// </summary>
    private struct DepthState
    {
        public int Depth;
        public bool InString, Escape, Broken;

        /// <summary>Broken because a string was still open at the end of a line: the record was cut short there.</summary>
        public bool CutInString;

        /// <summary>The reason code of a broken record.</summary>
        public readonly string BrokenReason => CutInString ? ReasonCodes.TruncatedJson : ReasonCodes.InvalidJson;

        /// <summary>The kinds of the open containers (<see cref="ContainerKinds"/>).</summary>
        public ContainerKinds Kinds;

        /// <summary>Whether the innermost open container is an object (false at depth 0 and beyond depth 64).</summary>
        public readonly bool InObject => Kinds.IsObject(Depth) == true;

        /// <summary>Whether the innermost open container is an array (false at depth 0 and beyond depth 64).</summary>
        public readonly bool InArray => Kinds.IsObject(Depth) == false;

        /// <summary>
        /// Whether a line starting with <paramref name="next"/> cannot go on the record whose text so far ends with
        /// <paramref name="last"/> (its last byte that is not white space): inside an object only a key, ',' or '}' may
        /// follow anything but ':'; inside an array only ',' or ']' may follow a value. Such a line means the record was
        /// cut short before it.
        /// </summary>
        public readonly bool CannotContinueWith(byte last, byte next) =>
            (InObject && last != (byte)':' && next is not ((byte)'"' or (byte)'}' or (byte)',' or (byte)':'))
            || (InArray && last is not ((byte)',' or (byte)'[') && next is not ((byte)',' or (byte)']'));

        /// <summary>Where (in the last span fed) the depth first came back to 0 after a '}' or ']', or −1.</summary>
        public int FirstClose;

        public void Feed(ReadOnlySpan<byte> s)
        {
            FirstClose = -1;
            for (var i = 0; i < s.Length; i++)
            {
                var c = s[i];
                if (InString)
                {
                    if (Escape) Escape = false;
                    else if (c == (byte)'\\') Escape = true;
                    else if (c == (byte)'"') InString = false;
                    continue;
                }
                switch (c)
                {
                    case (byte)'"': InString = true; break;
                    case (byte)'{' or (byte)'[':
                        Kinds.Open(++Depth, c == (byte)'{');
                        break;
                    case (byte)'}' or (byte)']':
                        Depth--;
                        if (Depth < 0) Broken = true;
                        else if (Depth == 0 && FirstClose < 0) FirstClose = i;
                        break;
                }
            }
            if (InString) Broken = CutInString = true; // every span fed ends a line
        }
    }

    /// <summary>
    /// Reads lines (ended by '\n', '\r\n' or a bare '\r'; the line break not included) with a bounded buffer. A line that
    /// lies within the read buffer is returned as a slice of it, without a copy; a line that straddles refills is
    /// assembled in a reusable side buffer. Either is valid until the next call.
    /// </summary>
    private sealed class LineReader(Stream s)
    {
        private readonly byte[] _buf = new byte[1 << 16];
        private int _start, _end;
        private bool _eof;
        private long _line, _consumed;
        private byte[] _long = new byte[4096];
        private int _longLength;

        public long Position => _consumed;

        /// <summary>Lines returned so far.</summary>
        public long LineNumber => _line;

        /// <summary>Set when the decompressor failed (corrupt or truncated compressed data): the message; reading stopped there.</summary>
        public string? Corrupt { get; private set; }

        /// <summary>The last line ended with a CR: an LF right after it belongs to the same line break (CRLF).</summary>
        private bool _skipLf;

        /// <summary>
        /// The next line, ended by '\n', '\r\n' or a bare '\r' (old Mac files; a JSON string cannot hold a raw CR, so no
        /// record is cut), without its line break: each is a line of its own, numbered and at its own offset, so one bad
        /// record among CR-ended ones is quarantined alone, and the 1 MiB record limit applies to each.
        /// </summary>
        public bool Next(out ReadOnlyMemory<byte> line, out long lineNo, out long offset, out bool tooLong)
        {
            tooLong = false;
            _longLength = 0;
            while (_skipLf)
            {
                if (_start < _end)
                {
                    if (_buf[_start] == (byte)'\n') { _start++; _consumed++; }
                    _skipLf = false;
                }
                else if (_eof) _skipLf = false;
                else
                {
                    _start = _end = 0;
                    var n = ReadOrCorrupt(s, _buf, 0, _buf.Length, out var failed);
                    Corrupt ??= failed;
                    if (n == 0) _eof = true; else _end = n;
                }
            }
            offset = _consumed;
            var dropped = false;
            var assembled = false;
            while (true)
            {
                var idx = _buf.AsSpan(_start, _end - _start).IndexOfAny((byte)'\n', (byte)'\r');
                if (idx >= 0)
                {
                    idx += _start;
                    var len = idx - _start;
                    if (!assembled) line = _buf.AsMemory(_start, len);
                    else { Append(len, ref dropped); line = _long.AsMemory(0, _longLength); }
                    _skipLf = _buf[idx] == (byte)'\r';
                    _start = idx + 1;
                    _consumed += len + 1;
                    break;
                }
                if (_eof)
                {
                    var len = _end - _start;
                    if (len == 0 && !assembled) { line = default; lineNo = _line; return false; }
                    if (!assembled) line = _buf.AsMemory(_start, len);
                    else { Append(len, ref dropped); line = _long.AsMemory(0, _longLength); }
                    _start = _end;
                    _consumed += len;
                    break;
                }
                // Move the partial line into the side buffer and refill.
                assembled = true;
                Append(_end - _start, ref dropped);
                _consumed += _end - _start;
                _start = _end = 0;
                var r = ReadOrCorrupt(s, _buf, 0, _buf.Length, out var corrupt);
                Corrupt ??= corrupt;
                if (r == 0) _eof = true; else _end = r;
            }
            _line++;
            lineNo = _line;
            tooLong = dropped || line.Length > MaxRecordBytes;
            if (tooLong && line.Length > 4096) line = line[..4096];
            return true;
        }

        private void Append(int len, ref bool dropped)
        {
            if (len <= 0) return;
            if (_longLength + len > MaxRecordBytes)
            {
                var keep = (int)Math.Max(0, Math.Min(len, 4096 - _longLength));
                if (keep > 0) { Grow(_longLength + keep); _buf.AsSpan(_start, keep).CopyTo(_long.AsSpan(_longLength)); _longLength += keep; }
                dropped = true;
                return;
            }
            Grow(_longLength + len);
            _buf.AsSpan(_start, len).CopyTo(_long.AsSpan(_longLength));
            _longLength += len;
        }

        private void Grow(int needed)
        {
            if (needed > _long.Length) Array.Resize(ref _long, Math.Max(needed, _long.Length * 2));
        }
    }

    /// <summary>
    /// Cuts a top-level JSON array into its elements while streaming: each element (object or not) is one record whose
    /// line is where it starts and whose offset is its first byte's. Separators (commas, whitespace) are not records; an
    /// element that is not an object is reported as <see cref="ReasonCodes.NotAnObject"/>, one cut short by the end of
    /// the object as <see cref="ReasonCodes.TruncatedJson"/>, and each line of text after the closing bracket as
    /// <see cref="ReasonCodes.TextAfterArray"/>. An element inside the buffer is handed out without a copy; one spanning
    /// buffer refills is gathered in a side buffer bounded by <see cref="MaxRecordBytes"/>.
    /// </summary>
    private sealed class ArrayReader(Stream s)
    {
        private static readonly SearchValues<byte> Structural = SearchValues.Create("\"{}[]"u8);
        private static readonly SearchValues<byte> StringSpecial = SearchValues.Create("\"\\\n\r"u8);
        private static readonly SearchValues<byte> ScalarEnd = SearchValues.Create(" \t\r\n,]"u8);

        private enum State { Start, Separator, AfterArray, Done }

        private readonly byte[] _buf = new byte[1 << 16];
        private int _pos, _end, _counted;
        private bool _eof;
        private long _bufOffset, _line = 1; // _line: the line of _buf[_counted]
        private readonly MemoryStream _held = new();
        private long _heldTotal;
        private State _state = State.Start;

        /// <summary>Whether the content started with a UTF-8 BOM.</summary>
        public bool HadBom { get; private set; }
        /// <summary>Byte order marks skipped before later elements.</summary>
        public int StrayByteOrderMarks { get; private set; }
        /// <summary>Whether the closing bracket was read.</summary>
        public bool Closed { get; private set; }
        /// <summary>Elements read.</summary>
        public long Elements { get; private set; }
        /// <summary>Set when the decompressor failed: the message; reading stopped there.</summary>
        public string? Corrupt { get; private set; }
        /// <summary>Bytes consumed so far.</summary>
        public long Position => _bufOffset + _pos;
        /// <summary>The line of the next byte to read.</summary>
        public long Line => LineAt(_pos);

        public bool Next(out ScannedRecord record)
        {
            record = default;
            while (true)
            {
                switch (_state)
                {
                    case State.Start:
                        while (_end < 3 && !_eof) Fill();
                        if (StartsWithBom(_buf.AsSpan(0, _end))) { HadBom = true; _pos = 3; }
                        SkipWhitespace();
                        _pos++; // the '[' the scanner saw
                        _state = State.Separator;
                        continue;
                    case State.Separator:
                        if (!SkipWhitespace()) { _state = State.Done; return false; }
                        // A byte order mark before an element (arrays saved with one and pasted together): skipped.
                        if (StartsWithBom(_buf.AsSpan(_pos, _end - _pos))) { _pos += 3; StrayByteOrderMarks++; continue; }
                        switch (_buf[_pos])
                        {
                            case (byte)',': _pos++; continue;
                            case (byte)']': _pos++; Closed = true; _state = State.AfterArray; continue;
                            default: record = ReadElement(); return true;
                        }
                    case State.AfterArray:
                        if (!SkipWhitespace()) { _state = State.Done; return false; }
                        record = ReadStrayLine();
                        return true;
                    default:
                        return false;
                }
            }
        }

        private ScannedRecord ReadElement()
        {
            var element = ++Elements;
            var kind = _buf[_pos];
            var line = LineAt(_pos);
            var offset = _bufOffset + _pos;
            _held.SetLength(0);
            _heldTotal = 0;
            int start = _pos, p = _pos, depth = 0;
            bool inString = false, escape = false, cut = false, complete;
            var kinds = new ContainerKinds();
            var bare = kind is not ((byte)'{' or (byte)'[' or (byte)'"');
            while (true)
            {
                complete = bare ? AdvanceBare(ref p) : Advance(ref p, ref depth, ref inString, ref escape, ref kinds, ref cut);
                if (complete || cut || _eof) break;
                Hold(start, _end);
                Refill();
                start = p = 0;
            }
            ReadOnlyMemory<byte> bytes;
            if (_heldTotal == 0) bytes = _buf.AsMemory(start, p - start);
            else { Hold(start, p); bytes = Held(_held); }
            _pos = p;
            var total = _heldTotal == 0 ? bytes.Length : _heldTotal;
            if (total > MaxRecordBytes)
                return new(bytes[..Math.Min(bytes.Length, KeptBytes)], line, offset, ReasonCodes.RecordTooLarge, $"array element {element} is longer than {MaxRecordBytes} bytes");
            if (cut)
                return new(bytes, line, offset, ReasonCodes.TruncatedJson, _buf[p] is (byte)'\n' or (byte)'\r'
                    ? $"array element {element} is cut short: a string is still open at the end of line {LineAt(p)}"
                    : $"array element {element} is cut short: a value starts at line {LineAt(p)} where it cannot go on");
            if (!complete && !bare)
                return new(bytes, line, offset, ReasonCodes.TruncatedJson, $"array element {element} is cut short: the object ends before its closing bracket");
            if (kind == (byte)'{') return new(bytes, line, offset, null);
            var what = WhatValue(bytes.Span);
            return what is null
                ? new(bytes, line, offset, ReasonCodes.InvalidJson, $"array element {element} is not valid JSON")
                : new(bytes, line, offset, ReasonCodes.NotAnObject, $"array element {element} is {what}, not a JSON object");
        }

        /// <summary>
        /// Moves <paramref name="p"/> through an object, array or string element; true when it ended (p past its last
        /// byte). Sets <paramref name="cut"/> (p at the byte where the next element starts) when the element cannot go on:
        /// a raw line break inside a string (never valid JSON: the quote that would close it belongs to later text), or
        /// an object opening directly inside an object where only a key may start (not a value after ':') — the element
        /// was cut short and the next one begins there.
        /// </summary>
        private bool Advance(ref int p, ref int depth, ref bool inString, ref bool escape, ref ContainerKinds kinds, ref bool cut)
        {
            while (p < _end)
            {
                if (inString)
                {
                    if (escape) { escape = false; p++; continue; }
                    var i = _buf.AsSpan(p, _end - p).IndexOfAny(StringSpecial);
                    if (i < 0) { p = _end; return false; }
                    p += i;
                    if (_buf[p] is (byte)'\n' or (byte)'\r') { cut = true; return false; }
                    if (_buf[p++] == (byte)'\\') { escape = true; continue; }
                    inString = false;
                    if (depth == 0) return true; // a string element
                    continue;
                }
                var j = _buf.AsSpan(p, _end - p).IndexOfAny(Structural);
                if (j < 0) { p = _end; return false; }
                p += j;
                switch (_buf[p++])
                {
                    case (byte)'"': inString = true; break;
                    case (byte)'{' or (byte)'[':
                        if (kinds.IsObject(depth) is { } inObject && MustCut(inObject, p - 1))
                        {
                            p--;
                            cut = true;
                            return false;
                        }
                        kinds.Open(++depth, _buf[p - 1] == (byte)'{');
                        break;
                    default: if (--depth <= 0) return true; break;
                }
            }
            return false;
        }

        /// <summary>
        /// Whether an object or array opening at <paramref name="at"/> means the element was cut short before it: inside an
        /// object it may open only as a value (after ':'); inside an array only after '[' or ',' — there, a value after a
        /// value is taken for a cut only when it starts a line (the next element of a pretty-printed array), since on one
        /// line it is more likely a missing comma in a record that still closes, which the parser then rejects whole.
        /// Never when what came before is unknown.
        /// </summary>
        private bool MustCut(bool inObject, int at)
        {
            var previous = PreviousSignificant(at, out var lineBreak);
            if (previous == 0) return false;
            return inObject ? previous != (byte)':' : previous is not ((byte)'[' or (byte)',') && lineBreak;
        }

        /// <summary>The last byte before <paramref name="q"/> in the element that is not white space (looking into the
        /// bytes held from earlier buffers when needed), or 0 when there is none at hand.</summary>
        private byte PreviousSignificant(int q, out bool lineBreak)
        {
            lineBreak = false;
            ReadOnlySpan<byte> span = _buf.AsSpan(0, q);
            var i = LastSignificantAt(span);
            // Before this buffer: the bytes held from earlier ones, unless the element outgrew the limit and only its
            // first bytes were kept (what came last is then unknown: no cut).
            if (i < 0 && _heldTotal == _held.Length && _held.Length > 0)
            {
                lineBreak = span.IndexOfAny((byte)'\n', (byte)'\r') >= 0;
                span = Held(_held).Span;
                i = LastSignificantAt(span);
            }
            else if (i < 0) return 0;
            lineBreak |= span[(i + 1)..].IndexOfAny((byte)'\n', (byte)'\r') >= 0;
            return i >= 0 ? span[i] : (byte)0;
        }

        /// <summary>Moves <paramref name="p"/> to the end of a bare value (number, literal or stray text): whitespace, ',' or ']'.</summary>
        private bool AdvanceBare(ref int p)
        {
            var i = _buf.AsSpan(p, _end - p).IndexOfAny(ScalarEnd);
            if (i < 0) { p = _end; return false; }
            p += i;
            return true;
        }

        /// <summary>What a non-object element is ("a number", "an array", …), or null when it is not one JSON value.</summary>
        internal static string? WhatValue(ReadOnlySpan<byte> bytes)
        {
            try
            {
                var r = new Utf8JsonReader(bytes);
                if (!r.Read()) return null;
                var what = r.TokenType switch
                {
                    JsonTokenType.StartArray => "an array",
                    JsonTokenType.String => "a string",
                    JsonTokenType.Number => "a number",
                    JsonTokenType.True or JsonTokenType.False => "a boolean",
                    JsonTokenType.Null => "null",
                    _ => null,
                };
                r.Skip();
                return r.Read() ? null : what;
            }
            catch (JsonException) { return null; }
        }

        /// <summary>One line of text after the closing bracket (its first bytes when long).</summary>
        private ScannedRecord ReadStrayLine()
        {
            var line = LineAt(_pos);
            var offset = _bufOffset + _pos;
            _held.SetLength(0);
            _heldTotal = 0;
            var start = _pos;
            int stop;
            while (true)
            {
                var i = _buf.AsSpan(start, _end - start).IndexOf((byte)'\n');
                if (i >= 0) { stop = start + i; _pos = stop + 1; break; }
                if (_eof) { stop = _pos = _end; break; }
                Hold(start, _end);
                Refill();
                start = 0;
            }
            ReadOnlyMemory<byte> bytes;
            if (_heldTotal == 0) bytes = _buf.AsMemory(start, stop - start);
            else { Hold(start, stop); bytes = Held(_held); }
            if (bytes.Length > KeptBytes) bytes = bytes[..KeptBytes];
            return new(bytes, line, offset, ReasonCodes.TextAfterArray, "text after the closing bracket of the top-level array");
        }

        private bool SkipWhitespace()
        {
            while (true)
            {
                while (_pos < _end && IsWs(_buf[_pos])) _pos++;
                if (_pos < _end) return true;
                if (_eof) return false;
                Refill();
            }
        }

        private long LineAt(int p)
        {
            _line += _buf.AsSpan(_counted, p - _counted).Count((byte)'\n');
            _counted = p;
            return _line;
        }

        /// <summary>Keeps bytes of an element that continues past the buffer (bounded: beyond the limit only the first bytes and the length).</summary>
        private void Hold(int from, int to)
        {
            var len = to - from;
            if (_heldTotal + len <= MaxRecordBytes) _held.Write(_buf, from, len);
            else if (_held.Length < KeptBytes) _held.Write(_buf, from, (int)Math.Min(len, KeptBytes - _held.Length));
            _heldTotal += len;
        }

        /// <summary>Drops the whole buffer (every byte of it consumed or held) and reads the next.</summary>
        private void Refill()
        {
            LineAt(_end);
            _bufOffset += _end;
            _pos = _end = _counted = 0;
            Fill();
        }

        private void Fill()
        {
            var r = ReadOrCorrupt(s, _buf, _end, _buf.Length - _end, out var corrupt);
            Corrupt ??= corrupt;
            if (r == 0) _eof = true; else _end += r;
        }
    }

    /// <summary>
    /// Passes a gzip stream through, keeps its last bytes (the last member's trailer, CRC-32 and ISIZE, and what a cut
    /// header left before it), and adds up the ISIZE of every trailer that a further member's header follows: <c>1F 8B 08</c>, a flag byte with its
    /// reserved bits clear, an XFL of 0, 2 or 4 and a known OS byte (by chance about once in 2^37 compressed bytes).
    /// Several members concatenated (<c>cat a.gz b.gz</c>) then account for the whole output (<see cref="Accounts"/>).
    /// </summary>
    private sealed class TailKeepingStream(Stream inner) : ForwardOnlyReadStream
    {
        private const int HeaderBytes = 10;
        private const int MinMemberBytes = HeaderBytes + 2 + 8; // header, an empty deflate block, trailer
        // The last bytes read, carried from one read to the next: a trailer and the header after it may straddle two
        // reads, and at the end they hold the last trailer and whatever a cut header left before it.
        private const int Carry = MinMemberBytes;
        private byte[] _scratch = new byte[Carry];
        private int _carried;
        private long _length;
        private long _nextScan = MinMemberBytes; // no further member can start inside the first one's minimum size
        private long _lastHeaderAt = -1;

        /// <summary>The trailer's ISIZE (the member's uncompressed length mod 2^32), or null when fewer than 8 bytes were read.</summary>
        public uint? TrailerLength => _carried < 8 ? null : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_scratch.AsSpan(_carried - 4, 4));

        /// <summary>Members found after the first (each one a trailer followed by a header).</summary>
        public int FurtherMembers { get; private set; }

        /// <summary>The ISIZE of the trailers that end the members before the last (mod 2^32).</summary>
        public uint EarlierMembersLength { get; private set; }

        /// <summary>
        /// Whether the trailers account for <paramref name="decompressed"/> bytes of output: the last trailer's length
        /// alone (one member), or, when further members were found and the last one is at least a whole member long,
        /// the earlier trailers' lengths and the last one's together. An object cut inside a later member's header, or
        /// ending in the bytes of a header, does not.
        /// </summary>
        public bool Accounts(long decompressed)
        {
            if (TrailerLength is not { } last) return false;
            if (last == (uint)decompressed) return true;
            return FurtherMembers > 0 && _length >= _lastHeaderAt + MinMemberBytes && !EndsInsideAHeader()
                   && unchecked(EarlierMembersLength + last) == (uint)decompressed;
        }

        /// <summary>
        /// Whether a member's header starts in the last bytes, too close to the end for the member to be whole (a cut
        /// inside it leaves bytes of the header where the last trailer should be, and an MTIME of 0 reads as a length).
        /// </summary>
        private bool EndsInsideAHeader()
        {
            var tail = _scratch.AsSpan(0, _carried);
            for (var p = Math.Max(0, tail.Length - (MinMemberBytes - 1)); p < tail.Length - 1; p++)
            {
                if (_length - (tail.Length - p) < MinMemberBytes) continue; // inside the first member's minimum size
                if (tail[p] != 0x1F || tail[p + 1] != 0x8B) continue;
                if (p + 2 < tail.Length && tail[p + 2] != 0x08) continue;
                if (p + 3 < tail.Length && (tail[p + 3] & 0xE0) != 0) continue;
                return true;
            }
            return false;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            if (n > 0) ScanForMembers(buffer[..n]);
            _length += n;
            return n;
        }

        private void ScanForMembers(ReadOnlySpan<byte> read)
        {
            // The bytes carried from the last read, then this read: header candidates are looked for where a whole
            // header and the eight bytes before it are at hand, each position once.
            var total = _carried + read.Length;
            if (_scratch.Length < total) Array.Resize(ref _scratch, Math.Max(total, _scratch.Length * 2));
            read.CopyTo(_scratch.AsSpan(_carried));
            var origin = _length - _carried; // stream offset of _scratch[0]
            var span = _scratch.AsSpan(0, total);
            var from = (int)Math.Max(_nextScan - origin, 8);
            var lastStart = total - HeaderBytes; // the last position with a whole header at hand
            while (from <= lastStart)
            {
                var i = span[from..(lastStart + 1)].IndexOf((byte)0x1F);
                if (i < 0) break;
                var h = from + i;
                if (span[h + 1] == 0x8B && span[h + 2] == 0x08 && (span[h + 3] & 0xE0) == 0
                    && span[h + 8] is 0 or 2 or 4 && span[h + 9] is <= 13 or 255)
                {
                    FurtherMembers++;
                    EarlierMembersLength += System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(h - 4, 4));
                    _lastHeaderAt = origin + h;
                }
                from = h + 1;
            }
            _nextScan = origin + Math.Max(from, lastStart + 1);
            _carried = Math.Min(Carry, total);
            span[(total - _carried)..].CopyTo(_scratch);
        }
    }

    /// <summary>
    /// The decompressed side of a gzip object, checked at its end against the trailer: .NET's <see cref="GZipStream"/>
    /// ends quietly when the compressed data stops at a block boundary (an upload cut short after a flush), so a cut
    /// object would read as complete. When the bytes decompressed (mod 2^32) differ from the last trailer's ISIZE, the end
    /// is reported as a truncation (an <see cref="EndOfStreamException"/>), which the readers turn into a corrupt-compression record whose rows before the cut stand. Several
    /// gzip members concatenated (<c>cat a.gz b.gz</c>) are read whole and pass when the trailers before each further
    /// member's header and the last trailer add up to the output.
    /// </summary>
    private sealed class GzipTrailerCheckStream(Stream decompressed, TailKeepingStream compressed) : ForwardOnlyReadStream
    {
        private long _total;
        private bool _checked;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = decompressed.Read(buffer);
            _total += n;
            if (n == 0 && buffer.Length > 0 && !_checked)
            {
                _checked = true;
                // One member: its trailer's length is the whole output. Several concatenated: the lengths of the trailers
                // that a further header follows, and the last one, add up to it.
                if (!compressed.Accounts(_total))
                    throw new TruncatedGzipException($"the gzip data ended after {_total} decompressed bytes without a trailer that matches them " +
                                                   "(the object was cut short)");
            }
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) decompressed.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>The gzip data stopped before a trailer that accounts for it: an object cut short, not damaged.</summary>
    private sealed class TruncatedGzipException(string message) : EndOfStreamException(message);

    /// <summary>A stream that yields a few already-read bytes before the rest of an inner stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : ForwardOnlyReadStream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_prefix.IsEmpty)
            {
                var n = Math.Min(count, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer.AsSpan(offset, n));
                _prefix = _prefix[n..];
                return n;
            }
            return inner.Read(buffer, offset, count);
        }
    }
}
