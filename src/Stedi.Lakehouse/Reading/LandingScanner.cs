using System.IO.Compression;

namespace Stedi.Lakehouse.Reading;

/// <summary>One candidate record cut out of a landing object: the bytes of one top-level JSON value, or an error.</summary>
/// <param name="Bytes">The record's UTF-8 bytes (one line, or several lines of a pretty-printed object). Valid only until the
/// scanner moves to the next record (often a slice of its read buffer): copy what must outlive it.</param>
/// <param name="LineNumber">1-based line where the record starts.</param>
/// <param name="ByteOffset">0-based byte offset of that line in the (decompressed) object.</param>
/// <param name="Error">Null for a candidate record; else a reason code (<see cref="ReasonCodes"/>) for text that is not one.</param>
public readonly record struct ScannedRecord(ReadOnlyMemory<byte> Bytes, long LineNumber, long ByteOffset, string? Error);

/// <summary>
/// Cuts a landing object into records while streaming it: JSON lines, pretty-printed JSON objects spread over
/// several lines, gzip detected from the content (magic bytes 1F 8B, never the file name), a leading UTF-8 BOM
/// stripped. Memory is bounded by <see cref="MaxRecordBytes"/>, whatever the object's size. Text that is not a
/// record (garbage, a truncated object, an over-long line) comes out as a <see cref="ScannedRecord"/> with an
/// error so that it can be quarantined; the scanner resynchronises at the next line that is a complete object,
/// so a bad line never swallows its good neighbours.
/// </summary>
public sealed class LandingScanner
{
    /// <summary>Largest record accepted, in bytes (1 MiB); longer text is reported as <see cref="ReasonCodes.RecordTooLarge"/>.</summary>
    public const int MaxRecordBytes = 1 << 20;

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

    /// <summary>Bytes of (decompressed) content read so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Scans <paramref name="input"/> to its end. The stream is read forward only; it is not disposed.</summary>
    public IEnumerable<ScannedRecord> Scan(Stream input)
    {
        var source = Decompress(input);
        var lines = new LineReader(source);
        var acc = new MemoryStream();
        long accLine = 0, accOffset = 0;
        var state = new DepthState();
        var first = true;
        while (lines.Next(out var line, out var lineNo, out var offset, out var tooLong))
        {
            if (first)
            {
                first = false;
                if (line.Length >= 3 && line.Span[0] == 0xEF && line.Span[1] == 0xBB && line.Span[2] == 0xBF) { HadBom = true; line = line[3..]; offset += 3; }
            }
            BytesRead = lines.Position;
            if (tooLong)
            {
                if (acc.Length > 0) { yield return new(acc.ToArray(), accLine, accOffset, ReasonCodes.TruncatedJson); acc.SetLength(0); state = default; }
                yield return new(line.ToArray(), lineNo, offset, ReasonCodes.RecordTooLarge);
                continue;
            }
            var trimmed = Trim(line.Span);
            if (acc.Length == 0)
            {
                if (trimmed.IsEmpty) continue;
                if (trimmed[0] != (byte)'{') { yield return new(line, lineNo, offset, ReasonCodes.InvalidJson); continue; }
                state = default;
                state.Feed(line.Span);
                // The common case, one object per line: handed on as a slice of the read buffer, valid until the next record.
                if (state.Depth == 0 || state.Broken) { yield return new(line, lineNo, offset, state.Broken ? ReasonCodes.InvalidJson : null); state = default; continue; }
                acc.Write(line.Span); acc.WriteByte((byte)'\n');
                accLine = lineNo; accOffset = offset;
                continue;
            }
            // Inside a multi-line record. A line that is a complete object on its own means the record before it was cut short.
            if (!trimmed.IsEmpty && trimmed[0] == (byte)'{' && trimmed[^1] == (byte)'}' && IsBalancedAlone(trimmed))
            {
                yield return new(acc.ToArray(), accLine, accOffset, ReasonCodes.TruncatedJson);
                acc.SetLength(0); state = default;
                yield return new(line.ToArray(), lineNo, offset, null);
                continue;
            }
            state.Feed(line.Span);
            acc.Write(line.Span); acc.WriteByte((byte)'\n');
            if (state.Broken) { yield return new(acc.ToArray(), accLine, accOffset, ReasonCodes.InvalidJson); acc.SetLength(0); state = default; }
            else if (state.Depth == 0) { yield return new(acc.ToArray(), accLine, accOffset, null); acc.SetLength(0); state = default; }
            else if (acc.Length > MaxRecordBytes) { yield return new(acc.ToArray().AsMemory(0, 4096), accLine, accOffset, ReasonCodes.RecordTooLarge); acc.SetLength(0); state = default; }
        }
        BytesRead = lines.Position;
        if (acc.Length > 0) yield return new(acc.ToArray(), accLine, accOffset, ReasonCodes.TruncatedJson);
        if (lines.Corrupt is not null)
        {
            CompressionCorrupt = true;
            yield return new(ReadOnlyMemory<byte>.Empty, lines.LineNumber + 1, lines.Position, ReasonCodes.CorruptCompression);
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
            rest = new GZipStream(rest, CompressionMode.Decompress);
            // The decompressed text may itself start with a UTF-16 byte order mark.
            var inner = new byte[2];
            n = 0;
            try { while (n < 2) { var r = rest.Read(inner, n, 2 - n); if (r == 0) break; n += r; } }
            catch (InvalidDataException) { return new PrefixedStream(inner.AsMemory(0, n), new FailingStream()); }
            head = inner;
            rest = new PrefixedStream(inner.AsMemory(0, n), rest);
        }
        // UTF-16 text (what Windows editors save as "Unicode"): transcoded to UTF-8 while streaming; its BOM becomes the UTF-8 BOM the scanner strips.
        if (n == 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF)))
        {
            WasUtf16 = true;
            var encoding = head[0] == 0xFF ? System.Text.Encoding.Unicode : System.Text.Encoding.BigEndianUnicode;
            return System.Text.Encoding.CreateTranscodingStream(rest, encoding, System.Text.Encoding.UTF8);
        }
        return rest;
    }

    /// <summary>Stands for the rest of a gzip stream found corrupt while peeking at its first bytes.</summary>
    private sealed class FailingStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidDataException("the gzip stream is corrupt");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        var a = 0; var b = s.Length;
        while (a < b && IsWs(s[a])) a++;
        while (b > a && IsWs(s[b - 1])) b--;
        return s[a..b];
    }

    private static bool IsWs(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static bool IsBalancedAlone(ReadOnlySpan<byte> s)
    {
        var st = default(DepthState);
        st.Feed(s);
        return !st.Broken && st.Depth == 0;
    }

    /// <summary>Tracks object/array nesting across lines, ignoring brackets inside strings.</summary>
    private struct DepthState
    {
        public int Depth;
        public bool InString, Escape, Broken;

        public void Feed(ReadOnlySpan<byte> s)
        {
            foreach (var c in s)
            {
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
                    case (byte)'{' or (byte)'[': Depth++; break;
                    case (byte)'}' or (byte)']':
                        Depth--;
                        if (Depth < 0) Broken = true;
                        break;
                }
                if (Depth == 0 && c is (byte)'}' or (byte)']') { /* record closed; trailing text is left to the parser */ }
            }
        }
    }

    /// <summary>
    /// Reads physical lines ('\n'-terminated, '\r' kept for the parser to ignore) with a bounded buffer. A line that
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

        public bool Next(out ReadOnlyMemory<byte> line, out long lineNo, out long offset, out bool tooLong)
        {
            tooLong = false;
            _longLength = 0;
            offset = _consumed;
            var dropped = false;
            var assembled = false;
            while (true)
            {
                var idx = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (idx >= 0)
                {
                    idx += _start;
                    var len = idx - _start;
                    if (!assembled) line = _buf.AsMemory(_start, len);
                    else { Append(len, ref dropped); line = _long.AsMemory(0, _longLength); }
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
                int r;
                // A damaged or cut-short gzip stream: what was decompressed so far stands; the rest is reported, not thrown.
                try { r = s.Read(_buf, 0, _buf.Length); }
                catch (InvalidDataException e) { Corrupt = "compressed data is corrupt or truncated: " + e.Message; r = 0; }
                catch (EndOfStreamException e) { Corrupt = "compressed data is truncated: " + e.Message; r = 0; }
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

    /// <summary>A stream that yields a few already-read bytes before the rest of an inner stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
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
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
