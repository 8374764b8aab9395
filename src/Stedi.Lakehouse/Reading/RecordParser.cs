using System.Globalization;
using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Reading;

/// <summary>The result of parsing one record: a staged row, or a quarantine reason.</summary>
/// <param name="Row">Staged row (columns of <see cref="LandingSource.Staged"/>), or null when rejected.</param>
/// <param name="Reason">Reason code (<see cref="ReasonCodes"/>) when rejected.</param>
/// <param name="Detail">Human-readable reason naming the field, e.g. <c>x: not a number</c>.</param>
/// <param name="Normalizations">What was normalised to accept the record, e.g. <c>timestamp: number as string</c>; empty when nothing was.</param>
/// <param name="UnknownFields">Names of fields kept in <c>extra_fields</c> (schema drift).</param>
public sealed record ParsedRecord(object?[]? Row, string? Reason, string? Detail, IReadOnlyList<string> Normalizations, IReadOnlyList<string> UnknownFields);

/// <summary>
/// Parses one JSON object of a landing source into a staged row. Field names match case-insensitively
/// (<c>timeStamp</c> is <c>timestamp</c>); an absent key is null; numbers written as strings of digits or as
/// float-formatted integers (<c>1655564376361.0</c>) are normalised and flagged; string fields are never coerced;
/// unknown fields are kept verbatim in <c>extra_fields</c> as a JSON object string.
/// </summary>
public sealed class RecordParser
{
    private readonly LandingSource _source;
    private readonly Dictionary<string, int> _index = new(StringComparer.OrdinalIgnoreCase);
    private readonly IReadOnlyList<Column> _cols;
    private readonly int _extra, _line, _consentRaw = -1, _consentCol = -1;
    private readonly HashSet<string> _required;

    /// <summary>Creates a parser for one source.</summary>
    public RecordParser(LandingSource source)
    {
        _source = source;
        _cols = source.Staged.Columns;
        for (var i = 0; i < _cols.Count; i++)
            if (_cols[i].Name is not (Tables.ExtraFields or Tables.LineNumber or Tables.ConsentRaw)) _index[_cols[i].Name] = i;
        _extra = source.Staged.IndexOf(Tables.ExtraFields);
        _line = source.Staged.IndexOf(Tables.LineNumber);
        if (source.Kind == SourceKind.Customer)
        {
            _consentRaw = source.Staged.IndexOf(Tables.ConsentRaw);
            _consentCol = source.Staged.IndexOf("shareWithResearchAsOfDate");
        }
        _required = _cols.Where(c => !c.Nullable && c.Name != Tables.LineNumber).Select(c => c.Name).ToHashSet();
    }

    private static bool IsShareDate(string name) => name.StartsWith("shareWith", StringComparison.Ordinal);

    /// <summary>Parses one record's bytes (one JSON object). Never throws for bad input.</summary>
    public ParsedRecord Parse(ReadOnlySpan<byte> json, long lineNumber)
    {
        var row = new object?[_cols.Count];
        var seen = new bool[_cols.Count];
        List<string>? notes = null, unknown = null;
        StringBuilder? extras = null;
        try
        {
            var r = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return Reject(ReasonCodes.InvalidJson, "record is not a JSON object");
            while (true)
            {
                if (!r.Read()) return Reject(ReasonCodes.TruncatedJson, "object not closed");
                if (r.TokenType == JsonTokenType.EndObject) break;
                var name = r.GetString()!;
                if (!r.Read()) return Reject(ReasonCodes.TruncatedJson, "object not closed");
                if (_index.TryGetValue(name, out var ci) && !seen[ci])
                {
                    seen[ci] = true;
                    var col = _cols[ci];
                    if (name != col.Name) (notes ??= []).Add($"{name}: renamed to {col.Name}");
                    if (ci == _consentCol && r.TokenType != JsonTokenType.Null)
                        row[_consentRaw] = RawText(json, ref r);
                    var error = Convert(ref r, col, out var value, ref notes);
                    if (error is not null)
                    {
                        if (IsShareDate(col.Name))
                        {
                            // Consent dates that are not dates mean "no consent" (DESIGN.md §2), not a malformed record.
                            (notes ??= []).Add($"{col.Name}: {error.Value.Detail}, read as null");
                            value = null;
                        }
                        else return Reject(error.Value.Code, $"{col.Name}: {error.Value.Detail}");
                    }
                    row[ci] = value;
                }
                else
                {
                    (unknown ??= []).Add(name);
                    extras ??= new StringBuilder("{");
                    if (extras.Length > 1) extras.Append(',');
                    extras.Append(JsonSerializer.Serialize(name)).Append(':').Append(RawText(json, ref r));
                    r.Skip();
                }
            }
            if (r.Read()) return Reject(ReasonCodes.InvalidJson, "text after the end of the object");
        }
        catch (JsonException e)
        {
            return Reject(ReasonCodes.InvalidJson, "invalid JSON: " + e.Message.Split(" Path:")[0]);
        }
        catch (InvalidOperationException e)
        {
            return Reject(ReasonCodes.InvalidJson, "invalid JSON: " + e.Message);
        }
        foreach (var req in _required)
        {
            var i = _index[req];
            if (row[i] is null) return Reject(ReasonCodes.MissingRequiredField, seen[i] ? $"{req}: null" : $"{req}: missing");
            if (row[i] is string s && s.Length == 0) return Reject(ReasonCodes.MissingRequiredField, $"{req}: empty");
        }
        if (_source.Kind != SourceKind.Customer)
        {
            var t = (long)row[_index[_source.Kind == SourceKind.Accelerometer ? "timestamp" : "sensorReadingTime"]]!;
            if (!Partitioning.IsValidEpochMillis(t)) return Reject(ReasonCodes.OutOfRange, $"{(_source.Kind == SourceKind.Accelerometer ? "timestamp" : "sensorReadingTime")}: {t} is not a date");
        }
        if (extras is not null) row[_extra] = extras.Append('}').ToString();
        row[_line] = lineNumber;
        return new ParsedRecord(row, null, null, (IReadOnlyList<string>?)notes ?? [], (IReadOnlyList<string>?)unknown ?? []);
    }

    private static ParsedRecord Reject(string code, string detail) => new(null, code, detail, [], []);

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

    private static FieldError? Convert(ref Utf8JsonReader r, Column col, out object? value, ref List<string>? notes)
    {
        value = null;
        if (r.TokenType == JsonTokenType.Null) return null;
        if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            r.Skip();
            return new(col.Type == ColumnType.String ? ReasonCodes.NotAString : ReasonCodes.NotANumber,
                       col.Type == ColumnType.String ? "not a string" : "not a number");
        }
        switch (col.Type)
        {
            case ColumnType.String:
                if (r.TokenType == JsonTokenType.String) { value = r.GetString(); return null; }
                // A bare number or boolean in a text field: keep its literal text, never reformatted.
                value = Encoding.UTF8.GetString(r.ValueSpan);
                (notes ??= []).Add($"{col.Name}: {r.TokenType.ToString().ToLowerInvariant()} read as text");
                return null;
            case ColumnType.Int64 when r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var fast):
                value = fast; // the common case, without a detour through text
                return null;
            case ColumnType.Double when r.TokenType == JsonTokenType.Number && r.TryGetDouble(out var fastD) && double.IsFinite(fastD):
                value = fastD;
                return null;
            case ColumnType.Int64:
            case ColumnType.Int32:
            {
                if (!NumberText(ref r, col, out var text, ref notes, out var err)) return err;
                if (text is null) return null;
                if (!TryParseInteger(text, out var l, out var floatFormatted, out var intErr)) return intErr;
                if (floatFormatted) (notes ??= []).Add($"{col.Name}: float-formatted integer");
                if (col.Type == ColumnType.Int32)
                {
                    if (l is < int.MinValue or > int.MaxValue) return new(ReasonCodes.OutOfRange, $"{text} is out of range for int");
                    value = (int)l;
                }
                else value = l;
                return null;
            }
            case ColumnType.Double:
            {
                if (!NumberText(ref r, col, out var text, ref notes, out var err)) return err;
                if (text is null) return null;
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || text.Trim() != text)
                    return new(ReasonCodes.NotANumber, "not a number");
                if (!double.IsFinite(d)) return new(ReasonCodes.OutOfRange, $"{text} is out of range for double");
                value = d;
                return null;
            }
        }
        return new(ReasonCodes.NotANumber, "unsupported column type");
    }

    /// <summary>The number's text from a JSON number or a quoted numeric string; null text for an empty string.</summary>
    private static bool NumberText(ref Utf8JsonReader r, Column col, out string? text, ref List<string>? notes, out FieldError? err)
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
                    (notes ??= []).Add($"{col.Name}: empty string read as null");
                    return true;
                }
                if (!LooksNumeric(s)) { err = new(ReasonCodes.NotANumber, "not a number"); return false; }
                (notes ??= []).Add($"{col.Name}: number as string");
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
