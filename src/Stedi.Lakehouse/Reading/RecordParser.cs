using System.Globalization;
using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Reading;

/// <summary>Why a record was not staged: a reason code (<see cref="ReasonCodes"/>) and a detail naming the field.</summary>
/// <param name="Reason">Reason code, e.g. <c>not_a_number</c>.</param>
/// <param name="Detail">Human-readable reason naming the field, e.g. <c>x: not a number</c>.</param>
public readonly record struct Rejection(string Reason, string Detail);

/// <summary>What the parser accepts as a plausible time.</summary>
/// <param name="MinEpochMillis">Earliest reading or update time accepted (epoch ms). Default 2015-01-01T00:00Z.</param>
/// <param name="MaxEpochMillis">Latest reading or update time accepted (epoch ms). Default: now + 1 day.</param>
public sealed record TimeWindow(long MinEpochMillis, long MaxEpochMillis)
{
    /// <summary>2015-01-01T00:00:00Z in epoch milliseconds.</summary>
    public const long DefaultMinEpochMillis = 1_420_070_400_000;

    /// <summary>The default window: 2015-01-01 to now + 1 day.</summary>
    public static TimeWindow Default() => new(DefaultMinEpochMillis, DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds());

    /// <summary>What <see cref="ParseBound"/> accepts, for error messages.</summary>
    public const string BoundForms = "an ISO 8601 date or date-time in UTC (2015-01-01, 2015-01-01T00:00:00Z), epoch milliseconds (1420070400000), or now with an optional offset in days or hours (now+1d, now-12h)";

    /// <summary>
    /// Parses one bound of a window: an ISO 8601 date (midnight UTC) or date-time (UTC unless it carries an offset),
    /// epoch milliseconds (an integer), or <c>now</c> with an optional <c>+N</c>/<c>-N</c> in days (<c>d</c>) or hours (<c>h</c>).
    /// </summary>
    /// <exception cref="FormatException">None of those; the message names the forms accepted.</exception>
    public static long ParseBound(string text, DateTimeOffset? now = null)
    {
        var t = text.Trim();
        if (t.Length > 0 && (char.IsAsciiDigit(t[0]) || t[0] == '-') && t.Skip(1).All(char.IsAsciiDigit)
            && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
            return ms;
        if (t.StartsWith("now", StringComparison.OrdinalIgnoreCase))
        {
            var at = now ?? DateTimeOffset.UtcNow;
            var rest = t[3..];
            if (rest.Length == 0) return at.ToUnixTimeMilliseconds();
            if (rest.Length >= 3 && rest[0] is '+' or '-' && (rest[^1] is 'd' or 'h' or 'D' or 'H')
                && int.TryParse(rest[1..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                var span = char.ToLowerInvariant(rest[^1]) == 'd' ? TimeSpan.FromDays(n) : TimeSpan.FromHours(n);
                return (rest[0] == '+' ? at + span : at - span).ToUnixTimeMilliseconds();
            }
        }
        else if (t.Length >= 10 && t[4] == '-' && t[7] == '-'
                 && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d))
            return d.ToUnixTimeMilliseconds();
        throw new FormatException($"'{text}' is not a time: expected {BoundForms}");
    }

    /// <summary>
    /// The window from two optional bounds (<see cref="ParseBound"/>); a missing bound keeps the default
    /// (2015-01-01, now + 1 day).
    /// </summary>
    /// <exception cref="FormatException">A bound that is not a time, or a minimum not before the maximum.</exception>
    public static TimeWindow Parse(string? min, string? max)
    {
        var lo = string.IsNullOrWhiteSpace(min) ? DefaultMinEpochMillis : ParseBound(min);
        var hi = string.IsNullOrWhiteSpace(max) ? DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds() : ParseBound(max);
        if (lo >= hi) throw new FormatException($"the time window is empty: its start ({Format(lo)}) is not before its end ({Format(hi)})");
        return new TimeWindow(lo, hi);
    }

    /// <summary>A time as ISO 8601 UTC (or the number, outside the representable dates).</summary>
    public static string Format(long epochMillis) =>
        epochMillis is >= -62_135_596_800_000 and <= 253_402_300_799_999
            ? DateTimeOffset.FromUnixTimeMilliseconds(epochMillis).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
            : epochMillis.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override string ToString() => $"{Format(MinEpochMillis)}..{Format(MaxEpochMillis)}";

    /// <summary>Whether a time lies in the window.</summary>
    public bool Contains(long epochMillis) => epochMillis >= MinEpochMillis && epochMillis <= MaxEpochMillis;

    /// <summary>Why a time outside the window is probably wrong: seconds (10 digits), microseconds (16), not positive; or null.</summary>
    public static string? Hint(long epochMillis)
    {
        if (epochMillis <= 0) return "not positive";
        var digits = epochMillis.ToString(CultureInfo.InvariantCulture).Length;
        return digits switch { 10 => "looks like seconds", 16 => "looks like microseconds", 19 => "looks like nanoseconds", _ => null };
    }
}

/// <summary>
/// Parses one JSON object of a landing source straight into a row of the source's staged <see cref="ColumnBatch"/>
/// (typed; strings interned without allocating for repeats). Field names match case-insensitively
/// (<c>timeStamp</c> is <c>timestamp</c>), but two keys mapping to one column (<c>email</c> and <c>Email</c>, or a key
/// twice) reject the record as <c>conflicting_keys</c> rather than choosing a value silently. An absent key is null;
/// numbers written as strings of digits or as float-formatted integers (<c>1655564376361.0</c>) are normalised and
/// counted; string fields are never coerced; unknown fields are kept verbatim in <c>extra_fields</c>; reading and update
/// times outside the <see cref="TimeWindow"/> are rejected as <c>out_of_range</c> with a hint at the unit. Never throws
/// for bad input. One parser per thread.
/// </summary>
public sealed class RecordParser
{
    private readonly LandingSource _source;
    private readonly TableSchema _staged;
    private readonly TimeWindow _window;
    private readonly Column[] _cols;
    private readonly byte[][] _utf8Names;
    private readonly Dictionary<string, int> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly int _extra, _line, _consentRaw = -1, _consentCol = -1, _serialCol = -1;
    private readonly int[] _required, _windowed;
    private readonly string?[] _seenAs;
    private readonly bool[] _hasValue; // a non-null value was stored: required columns hold 0, not null, until set
    private readonly List<string> _notes = [], _unknown = [];
    private readonly StringBuilder _extras = new();

    /// <summary>
    /// Longest serial number accepted, in UTF-8 bytes: 1,000. A serial is part of keys of the consent index, and a
    /// DynamoDB sort key holds at most 1,024 bytes (a partition key 2,048); a longer one would fail the whole object's
    /// index write, good records with it, on every retry.
    /// </summary>
    public const int MaxSerialBytes = 1_000;

    /// <summary>
    /// Largest customer version the consent index takes, in bytes: 350,000 — the record's ten customer fields as the
    /// index keeps them (<see cref="Rules.CustomerRecords.Canonical"/>: JSON with the writer's escaping, so <c>&lt;</c>
    /// takes six bytes), not its raw text; a DynamoDB item holds at most 400 KB with its keys and other attributes.
    /// </summary>
    public const int MaxCustomerRecordBytes = 350_000;

    /// <summary>Creates a parser for one source.</summary>
    /// <param name="source">The landing source.</param>
    /// <param name="window">Plausible reading and update times (default: 2015-01-01 to now + 1 day).</param>
    public RecordParser(LandingSource source, TimeWindow? window = null)
    {
        _source = source;
        _staged = source.Staged;
        _window = window ?? TimeWindow.Default();
        _cols = [.. _staged.Columns];
        _utf8Names = _cols.Select(c => Encoding.UTF8.GetBytes(c.Name)).ToArray();
        _extra = _staged.Ordinal(Fields.Extra);
        _line = _staged.Ordinal(Fields.LineNumber);
        for (var i = 0; i < _cols.Length; i++)
            if (i != _extra && i != _line && _cols[i] != Fields.ConsentRaw) _byName[_cols[i].Name] = i;
        if (source.Kind == SourceKind.Customer)
        {
            _consentRaw = _staged.Ordinal(Fields.ConsentRaw);
            _consentCol = _staged.Ordinal(Fields.ShareWithResearchAsOfDate);
        }
        if (source.Kind != SourceKind.Accelerometer) _serialCol = _staged.Ordinal(Fields.SerialNumber);
        _required = Enumerable.Range(0, _cols.Length).Where(i => !_cols[i].Nullable && i != _line).ToArray();
        Column[] windowed = source.Kind switch
        {
            SourceKind.Accelerometer => [Fields.Timestamp],
            SourceKind.StepTrainer => [Fields.SensorReadingTime],
            _ => [Fields.LastUpdateDate, Fields.ShareWithResearchAsOfDate],
        };
        _windowed = windowed.Select(_staged.Ordinal).ToArray();
        _seenAs = new string?[_cols.Length];
        _hasValue = new bool[_cols.Length];
    }

    /// <summary>What was normalised to accept the last record, e.g. <c>timestamp: number as string</c> (valid until the next call).</summary>
    public IReadOnlyList<string> Normalizations => _notes;

    /// <summary>Names of the last record's fields kept in <c>extra_fields</c> (schema drift; valid until the next call).</summary>
    public IReadOnlyList<string> UnknownFields => _unknown;

    private static bool IsShareDate(Column c) => c.Name.StartsWith("shareWith", StringComparison.Ordinal);

    private static bool IsEpochMillis(Column c) => c.Comment.StartsWith("epoch milliseconds", StringComparison.Ordinal);

    /// <summary>The unit a number with a fraction looks like (its whole part's digits), or null.</summary>
    private static string? UnitHint(string text)
    {
        var t = text.Trim('"');
        return decimal.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is > long.MinValue and < long.MaxValue
            ? TimeWindow.Hint((long)decimal.Truncate(d))
            : null;
    }

    /// <summary>Parses one record's bytes (one JSON object) and appends it to <paramref name="target"/>; on rejection nothing is appended.</summary>
    /// <param name="json">The record's UTF-8 bytes.</param>
    /// <param name="lineNumber">1-based line where the record starts.</param>
    /// <param name="target">A batch of the source's staged table.</param>
    /// <param name="rejection">Why the record was rejected.</param>
    /// <returns>True when a row was appended.</returns>
    public bool TryParse(ReadOnlySpan<byte> json, long lineNumber, ColumnBatch target, out Rejection rejection)
    {
        _notes.Clear();
        _unknown.Clear();
        _extras.Clear();
        Array.Clear(_seenAs);
        Array.Clear(_hasValue);
        var row = target.AddRow();
        if (ParseInto(json, row, target, out rejection)) { ((LongVector)target[_line]).Set(row, lineNumber); return true; }
        target.RemoveLastRow();
        return false;
    }

    private bool ParseInto(ReadOnlySpan<byte> json, int row, ColumnBatch target, out Rejection rejection)
    {
        rejection = default;
        // Utf8JsonReader does not check the bytes inside strings, and decoding would turn bad ones into U+FFFD: an email
        // with a broken byte would then be published changed, and match no one. One vectorised pass per record.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            var utf16 = new char[json.Length];
            System.Text.Unicode.Utf8.ToUtf16(json, utf16, out var valid, out _, replaceInvalidSequences: false);
            return Reject(ReasonCodes.InvalidJson, $"invalid UTF-8 at byte {valid} of the record (0x{json[valid]:X2}): the text is not UTF-8, or was damaged", out rejection);
        }
        try
        {
            var r = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return Reject(ReasonCodes.InvalidJson, "record is not a JSON object", out rejection);
            var expected = 0;
            while (true)
            {
                if (!r.Read()) return Reject(ReasonCodes.TruncatedJson, "object not closed", out rejection);
                if (r.TokenType == JsonTokenType.EndObject) break;
                var ci = MatchName(ref r, ref expected, out var name);
                if (!r.Read()) return Reject(ReasonCodes.TruncatedJson, "object not closed", out rejection);
                if (ci < 0)
                {
                    name ??= r.GetString()!;
                    // The same unknown key twice: extra_fields would hold both and a reader's json_extract pick one.
                    if (_unknown.Contains(name)) return Reject(ReasonCodes.ConflictingKeys, $"key '{name}' appears twice", out rejection);
                    _unknown.Add(name);
                    _extras.Append(_extras.Length == 0 ? '{' : ',').Append(JsonSerializer.Serialize(name)).Append(':').Append(RawText(json, ref r));
                    r.Skip();
                    continue;
                }
                var col = _cols[ci];
                name ??= col.Name;
                if (_seenAs[ci] is { } first)
                    return Reject(ReasonCodes.ConflictingKeys, first == name
                        ? $"key '{name}' appears twice"
                        : $"keys '{first}' and '{name}' both map to column {col.Name}", out rejection);
                _seenAs[ci] = name;
                if (name != col.Name) _notes.Add($"{name}: renamed to {col.Name}");
                if (ci == _consentCol && r.TokenType != JsonTokenType.Null)
                    target.Strings(Fields.ConsentRaw).Set(row, RawText(json, ref r));
                var error = Convert(ref r, col, target[ci], row);
                _hasValue[ci] = !target[ci].IsNull(row) && r.TokenType != JsonTokenType.Null && error is null;
                if (error is { } e)
                {
                    // A time with a fraction says which unit it looks like (1655564444.103 is seconds), as one out of the window does.
                    var detail = e.Code == ReasonCodes.NotAnInteger && IsEpochMillis(col) && UnitHint(RawText(json, ref r)) is { } hint ? $"{e.Detail} ({hint})" : e.Detail;
                    // A consent date's value that is a number must be a time (a fraction or a number beyond any date is a
                    // producer's bug, said as for any time); only values that are not numbers mean no consent.
                    if (!IsShareDate(col) || e.Code is ReasonCodes.NotAnInteger or ReasonCodes.OutOfRange)
                        return Reject(e.Code, $"{col.Name}: {detail}", out rejection);
                    // Consent dates that are not dates mean "no consent" (docs/ARCHITECTURE.md §2), not a malformed record.
                    _notes.Add($"{col.Name}: {e.Detail}, read as null");
                    ((LongVector)target[ci]).Set(row, (long?)null);
                }
            }
            if (r.Read()) return Reject(ReasonCodes.InvalidJson, "text after the end of the object", out rejection);
        }
        catch (JsonException e)
        {
            return Reject(ReasonCodes.InvalidJson, "invalid JSON: " + e.Message.Split(" Path:")[0], out rejection);
        }
        catch (InvalidOperationException e)
        {
            return Reject(ReasonCodes.InvalidJson, "invalid JSON: " + e.Message, out rejection);
        }
        foreach (var i in _required)
        {
            var v = target[i];
            if (!_hasValue[i]) return Reject(ReasonCodes.MissingRequiredField, _seenAs[i] is not null ? $"{_cols[i].Name}: null" : $"{_cols[i].Name}: missing", out rejection);
            // Blank counts as empty: a key of spaces would be trimmed to "" by the join and published as a customer.
            if (v is StringVector s && s.CodeAt(row) >= 0 && IsBlank(s.Pool[s.CodeAt(row)]))
                return Reject(ReasonCodes.MissingRequiredField, s.Pool[s.CodeAt(row)].Length == 0 ? $"{_cols[i].Name}: empty" : $"{_cols[i].Name}: blank", out rejection);
        }
        // The consent index's limits: checked here so that one such record is quarantined, not the object's index write failed.
        if (_serialCol >= 0 && target[_serialCol] is StringVector serials && serials.CodeAt(row) is var sc and >= 0
            && serials.Pool[sc].Length * 3 > MaxSerialBytes && Encoding.UTF8.GetByteCount(serials.Pool[sc]) is var serialBytes and > MaxSerialBytes)
            return Reject(ReasonCodes.ValueTooLong, $"serialNumber: {serialBytes:N0} bytes, over the {MaxSerialBytes:N0} a serial may have (it is part of the consent index's keys)", out rejection);
        // Escaping takes at most six bytes for one: only a record that long can be over, and only it pays for the check.
        if (_source.Kind == SourceKind.Customer && (long)json.Length * 6 > MaxCustomerRecordBytes
            && Encoding.UTF8.GetByteCount(Rules.CustomerRecords.Canonical(target, row)) is var versionBytes and > MaxCustomerRecordBytes)
            return Reject(ReasonCodes.RecordTooLarge, $"the customer's fields take {versionBytes:N0} bytes as the consent index keeps them (JSON, escaped), over the {MaxCustomerRecordBytes:N0} a customer version may have", out rejection);
        foreach (var i in _windowed)
        {
            var v = (LongVector)target[i];
            if (v.IsNull(row) || _window.Contains(v[row])) continue;
            // A consent date of 0 or less means "no consent" (a rule, not a producer's bug); a positive one must be
            // plausible, or a date in seconds would read as consent since 1970 and let every earlier reading through.
            if (i == _consentCol && v[row] <= 0) continue;
            var t = v[row];
            var hint = TimeWindow.Hint(t);
            return Reject(ReasonCodes.OutOfRange,
                $"{_cols[i].Name}: {t} is outside the plausible window {Date(_window.MinEpochMillis)} to {Date(_window.MaxEpochMillis)}{(hint is null ? "" : $" ({hint})")}",
                out rejection);
        }
        if (_extras.Length > 0) target.Strings(Fields.Extra).Set(row, _extras.Append('}').ToString());
        return true;
    }

    /// <summary>Empty, or only white space and invisible format characters (zero-width space U+200B, BOM U+FEFF, …).</summary>
    private static bool IsBlank(string value)
    {
        foreach (var c in value)
            if (!char.IsWhiteSpace(c) && CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format) return false;
        return true;
    }

    private static string Date(long ms) =>
        Partitioning.IsValidEpochMillis(ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : ms.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The column of the current property name, or −1: exact UTF-8 match first (starting with the column expected
    /// next, since producers write fields in one order), then case-insensitive. <paramref name="name"/> is set when the
    /// name had to be decoded.
    /// </summary>
    private int MatchName(ref Utf8JsonReader r, ref int expected, out string? name)
    {
        name = null;
        if (!r.ValueIsEscaped)
        {
            var span = r.ValueSpan;
            for (var k = 0; k < _utf8Names.Length; k++)
            {
                var i = (expected + k) % _utf8Names.Length;
                if (i == _extra || i == _line || i == _consentRaw) continue;
                if (span.SequenceEqual(_utf8Names[i])) { expected = i + 1; return i; }
            }
        }
        name = r.GetString()!;
        return _byName.TryGetValue(name, out var ci) ? ci : -1;
    }

    private bool Reject(string code, string detail, out Rejection rejection)
    {
        rejection = new Rejection(code, detail);
        return false;
    }

    private static string RawText(ReadOnlySpan<byte> json, ref Utf8JsonReader r)
    {
        var start = (int)r.TokenStartIndex;
        if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            var copy = r; // peek: the caller converts from the original position
            copy.Skip();
            return Encoding.UTF8.GetString(json[start..(int)copy.BytesConsumed]);
        }
        return Encoding.UTF8.GetString(json[start..(int)r.BytesConsumed]);
    }

    private readonly record struct FieldError(string Code, string Detail);

    private FieldError? Convert(ref Utf8JsonReader r, Column col, ColumnVector target, int row)
    {
        if (r.TokenType == JsonTokenType.Null) return null; // the row starts null
        if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            r.Skip();
            return col.Type == ColumnType.String ? new(ReasonCodes.NotAString, "not a string") : new(ReasonCodes.NotANumber, "not a number");
        }
        switch (target)
        {
            case StringVector s:
                if (r.TokenType == JsonTokenType.String)
                {
                    s.SetCode(row, r.ValueIsEscaped ? s.Pool.Intern(r.GetString()!) : s.Pool.InternUtf8(r.ValueSpan));
                    return null;
                }
                // A bare number or boolean in a text field: keep its literal text, never reformatted.
                s.SetCode(row, s.Pool.InternUtf8(r.ValueSpan));
                _notes.Add($"{col.Name}: {r.TokenType.ToString().ToLowerInvariant()} read as text");
                return null;
            case LongVector l:
            {
                if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var fast)) { l.Set(row, fast); return null; }
                if (!NumberText(ref r, col, out var text, out var err)) return err;
                if (text is null) return null;
                if (!TryParseInteger(text, out var v, out var floatFormatted, out var intErr)) return intErr;
                if (floatFormatted) _notes.Add($"{col.Name}: float-formatted integer");
                if (col.Type == ColumnType.Int32 && v is < int.MinValue or > int.MaxValue) return new(ReasonCodes.OutOfRange, $"{text} is out of range for int");
                l.Set(row, v);
                return null;
            }
            case DoubleVector d:
            {
                if (r.TokenType == JsonTokenType.Number && r.TryGetDouble(out var fast) && double.IsFinite(fast)) { d.Set(row, fast); return null; }
                if (!NumberText(ref r, col, out var text, out var err)) return err;
                if (text is null) return null;
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || text.Trim() != text)
                    return new(ReasonCodes.NotANumber, "not a number");
                if (!double.IsFinite(v)) return new(ReasonCodes.OutOfRange, $"{text} is out of range for double");
                d.Set(row, v);
                return null;
            }
        }
        return new(ReasonCodes.NotANumber, "unsupported column type");
    }

    /// <summary>The number's text from a JSON number or a quoted numeric string; null text for an empty string.</summary>
    private bool NumberText(ref Utf8JsonReader r, Column col, out string? text, out FieldError? err)
    {
        err = null;
        text = null;
        switch (r.TokenType)
        {
            case JsonTokenType.Number:
                text = Encoding.UTF8.GetString(r.ValueSpan);
                return true;
            case JsonTokenType.String:
                var s = r.GetString()!;
                if (s.Length == 0)
                {
                    if (!col.Nullable) { err = new(ReasonCodes.MissingRequiredField, "empty"); return false; }
                    _notes.Add($"{col.Name}: empty string read as null");
                    return true;
                }
                if (!LooksNumeric(s)) { err = new(ReasonCodes.NotANumber, "not a number"); return false; }
                _notes.Add($"{col.Name}: number as string");
                text = s;
                return true;
            default:
                err = new(ReasonCodes.NotANumber, "not a number");
                return false;
        }
    }

    /// <summary>Strictly numeric: optional minus, digits, optional fraction, optional exponent; no spaces, no hex, no words.</summary>
    private static bool LooksNumeric(string s)
    {
        var i = 0;
        if (i < s.Length && s[i] == '-') i++;
        var digits = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; digits++; }
        if (i < s.Length && s[i] == '.') { i++; while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; digits++; } }
        if (digits == 0) return false;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
            var e = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; e++; }
            if (e == 0) return false;
        }
        return i == s.Length;
    }

    private static bool TryParseInteger(string text, out long value, out bool floatFormatted, out FieldError? err)
    {
        err = null;
        floatFormatted = false;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return true;
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            if (d != decimal.Truncate(d)) { err = new(ReasonCodes.NotAnInteger, $"{text} is not an integer"); return false; }
            if (d < long.MinValue || d > long.MaxValue) { err = new(ReasonCodes.OutOfRange, $"{text} is out of range"); return false; }
            value = (long)d;
            floatFormatted = true;
            return true;
        }
        err = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? new(ReasonCodes.OutOfRange, $"{(text.Length > 40 ? text[..40] + "…" : text)} is out of range")
            : new(ReasonCodes.NotANumber, "not a number");
        return false;
    }
}
