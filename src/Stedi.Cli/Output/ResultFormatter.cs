using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Stedi.Lakehouse.Local;

namespace Stedi.Cli.Output;

/// <summary>The output formats of <c>stedi query</c> (and, <see cref="Table"/>, <see cref="Csv"/>, <see cref="Json"/>, of <c>stedi report</c>).</summary>
internal enum OutputFormat
{
    /// <summary>A box drawn with line characters, fitted to a width; one line per row.</summary>
    Table,
    /// <summary>RFC 4180 CSV with a header line.</summary>
    Csv,
    /// <summary>A JSON array of one object per row.</summary>
    Json,
    /// <summary>One JSON object per line.</summary>
    Jsonl,
    /// <summary>A GitHub-flavoured markdown table (what <c>stedi query</c> prints when its output is not a terminal).</summary>
    Markdown,
}

/// <summary>
/// Writes a <see cref="QueryPage"/> as text, the way DuckDB's CLI users expect: timestamps in ISO 8601 (UTC,
/// <c>Z</c>), booleans <c>true</c>/<c>false</c>, lists and structs as JSON, numbers right-aligned in the tables,
/// a table fitted to the terminal (long values cut with <c>…</c>, middle columns left out when they cannot fit),
/// and a footer saying how many rows were left out.
/// </summary>
internal static class ResultFormatter
{
    /// <summary>How the footer tells the reader to see every row (null: say nothing).</summary>
    public const string DefaultMoreRowsHint = "--max-rows 0 shows every row";

    private const int MinColumnWidth = 8;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    /// <summary>Parses a format name (<c>table</c>, <c>csv</c>, <c>json</c>, <c>jsonl</c>, <c>markdown</c>).</summary>
    public static bool TryParse(string? name, out OutputFormat format)
    {
        format = default;
        return name is not null && name.Length > 0 && char.IsLetter(name[0]) && Enum.TryParse(name, ignoreCase: true, out format) && Enum.IsDefined(format);
    }

    /// <summary>Writes <paramref name="page"/> in <paramref name="format"/>; a table or markdown ends with <see cref="MoreRowsLine"/> when rows were left out.</summary>
    /// <param name="w">Where to write.</param>
    /// <param name="page">The result.</param>
    /// <param name="format">The format.</param>
    /// <param name="width">Table only: the width to fit in (a terminal's), or null for no limit.</param>
    /// <param name="moreRowsHint">What the footer says about seeing every row.</param>
    /// <param name="rowCount">Table only: end with the row count (<c>3 rows</c>) when every row is shown.</param>
    public static void Write(TextWriter w, QueryPage page, OutputFormat format, int? width = null, string? moreRowsHint = DefaultMoreRowsHint, bool rowCount = true)
    {
        switch (format)
        {
            case OutputFormat.Table: WriteTable(w, page, width, moreRowsHint, rowCount); break;
            case OutputFormat.Markdown: WriteMarkdown(w, page, moreRowsHint); break;
            case OutputFormat.Csv: WriteCsv(w, page); break;
            case OutputFormat.Json: WriteJson(w, page, lines: false); break;
            case OutputFormat.Jsonl: WriteJson(w, page, lines: true); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }

    /// <summary>
    /// The line that says how many rows are not shown (<c>N more rows (M in all; …)</c>), or null when every row is.
    /// Tables and markdown end with it; for CSV and JSON the caller writes it to standard error.
    /// </summary>
    public static string? MoreRowsLine(QueryPage page, string? hint = DefaultMoreRowsHint) =>
        page.MoreRows <= 0 ? null
            : string.Create(CultureInfo.InvariantCulture, $"{page.MoreRows:N0} more {Plural(page.MoreRows, "row")} ({page.TotalRows:N0} in all{(hint is null ? "" : "; " + hint)})");

    /// <summary>The width of the terminal standard output is (80 when it cannot be read).</summary>
    public static int TerminalWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 80; }
        catch (IOException) { return 80; }
    }

    // ---------------------------------------------------------------- values

    /// <summary>A value as one piece of text: what CSV, tables and markdown show (null is <c>null</c>).</summary>
    public static string? Text(object? v) => v switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        DateTime t => Iso(t),
        DateTimeOffset t => Iso(t.UtcDateTime),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeOnly t => t.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
        TimeSpan t => IsoDuration(t),
        double d => Double(d),
        float f => Single(f),
        Guid g => g.ToString("D"),
        byte[] bytes => Blob(bytes),
        Stream stream => Blob(ReadAll(stream)),
        IDictionary or IEnumerable => JsonText(v),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString(),
    };

    /// <summary>Whether a column of this .NET type holds numbers (right-aligned in tables).</summary>
    public static bool IsNumeric(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(sbyte) || t == typeof(byte) || t == typeof(short) || t == typeof(ushort) || t == typeof(int) || t == typeof(uint)
               || t == typeof(long) || t == typeof(ulong) || t == typeof(float) || t == typeof(double) || t == typeof(decimal)
               || t == typeof(BigInteger) || t == typeof(Int128) || t == typeof(UInt128) || t == typeof(Half);
    }

    /// <summary>Writes a value as JSON: numbers, booleans and null as themselves, lists as arrays, structs and maps as objects, the rest as strings.</summary>
    public static void WriteJsonValue(Utf8JsonWriter j, object? v)
    {
        switch (v)
        {
            case null: j.WriteNullValue(); break;
            case string s: j.WriteStringValue(s); break;
            case bool b: j.WriteBooleanValue(b); break;
            case sbyte or byte or short or ushort or int or uint or long:
                j.WriteNumberValue(Convert.ToInt64(v, CultureInfo.InvariantCulture)); break;
            case ulong u: j.WriteNumberValue(u); break;
            case decimal m: j.WriteNumberValue(m); break;
            case BigInteger or Int128 or UInt128: j.WriteRawValue(((IFormattable)v).ToString(null, CultureInfo.InvariantCulture)); break;
            case double d when double.IsFinite(d): j.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): j.WriteRawValue(Single(f)); break;
            case IDictionary map:
                j.WriteStartObject();
                foreach (DictionaryEntry e in map)
                {
                    j.WritePropertyName(Text(e.Key) ?? "null");
                    WriteJsonValue(j, e.Value);
                }
                j.WriteEndObject();
                break;
            case IEnumerable list and not byte[] and not Stream:
                j.WriteStartArray();
                foreach (var item in list) WriteJsonValue(j, item);
                j.WriteEndArray();
                break;
            default: j.WriteStringValue(Text(v)); break;
        }
    }

    private static string Iso(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture) + "Z";

    private static string IsoDuration(TimeSpan t)
    {
        if (t == TimeSpan.Zero) return "PT0S";
        var sb = new StringBuilder(t < TimeSpan.Zero ? "-P" : "P");
        var a = t.Duration();
        if (a.Days > 0) sb.Append(CultureInfo.InvariantCulture, $"{a.Days}D");
        if (a.Hours > 0 || a.Minutes > 0 || a.Seconds > 0 || a.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            sb.Append('T');
            if (a.Hours > 0) sb.Append(CultureInfo.InvariantCulture, $"{a.Hours}H");
            if (a.Minutes > 0) sb.Append(CultureInfo.InvariantCulture, $"{a.Minutes}M");
            var seconds = a.Seconds + (a.Ticks % TimeSpan.TicksPerSecond) / (decimal)TimeSpan.TicksPerSecond;
            if (seconds > 0) sb.Append(seconds.ToString("0.#######", CultureInfo.InvariantCulture)).Append('S');
        }
        return sb.ToString();
    }

    private static string Double(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : d.ToString("R", CultureInfo.InvariantCulture);

    private static string Single(float f) =>
        float.IsNaN(f) ? "NaN" : float.IsPositiveInfinity(f) ? "Infinity" : float.IsNegativeInfinity(f) ? "-Infinity" : f.ToString("R", CultureInfo.InvariantCulture);

    private static byte[] ReadAll(Stream s)
    {
        using var m = new MemoryStream();
        if (s.CanSeek) s.Position = 0;
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>Bytes as DuckDB shows a BLOB: printable ASCII as is, the rest as <c>\xHH</c>.</summary>
    private static string Blob(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and < 0x7f && b != (byte)'\\') sb.Append((char)b);
            else sb.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
        }
        return sb.ToString();
    }

    private static string JsonText(object v)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var j = new Utf8JsonWriter(buffer, JsonOptions)) WriteJsonValue(j, v);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Plural(long n, string noun) => n == 1 ? noun : noun + "s";

    // ---------------------------------------------------------------- CSV and JSON

    private static void WriteCsv(TextWriter w, QueryPage page)
    {
        if (page.Columns.Count == 0) return;
        w.Write(string.Join(',', page.Columns.Select(Csv)));
        w.Write('\n');
        foreach (var row in page.Rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                if (i > 0) w.Write(',');
                w.Write(Csv(Text(row[i]) ?? ""));
            }
            w.Write('\n');
        }
    }

    private static string Csv(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    private static void WriteJson(TextWriter w, QueryPage page, bool lines)
    {
        if (!lines && page.Rows.Count == 0)
        {
            w.Write("[]\n");
            return;
        }
        if (!lines) w.Write("[\n");
        var buffer = new ArrayBufferWriter<byte>();
        for (var r = 0; r < page.Rows.Count; r++)
        {
            buffer.ResetWrittenCount();
            using (var j = new Utf8JsonWriter(buffer, JsonOptions))
            {
                j.WriteStartObject();
                for (var i = 0; i < page.Columns.Count; i++)
                {
                    j.WritePropertyName(page.Columns[i]);
                    WriteJsonValue(j, page.Rows[r][i]);
                }
                j.WriteEndObject();
            }
            if (!lines) w.Write("  ");
            w.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
            w.Write(!lines && r < page.Rows.Count - 1 ? ",\n" : "\n");
        }
        if (!lines) w.Write("]\n");
    }

    // ---------------------------------------------------------------- tables

    /// <summary>A cell as one line of a table: null as <c>NULL</c>, line breaks and tabs as <c>\n</c>, <c>\t</c>.</summary>
    private static string Cell(object? v) => Text(v) is { } s ? OneLine(s) : "NULL";

    private static string OneLine(string s) =>
        s.AsSpan().IndexOfAny("\r\n\t") < 0 ? s : s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);

    private static void WriteMarkdown(TextWriter w, QueryPage page, string? hint)
    {
        if (page.Columns.Count == 0) return;
        var n = page.Columns.Count;
        var numeric = page.ColumnTypes.Select(IsNumeric).ToArray();
        var header = page.Columns.Select(c => Md(OneLine(c))).ToArray();
        var cells = page.Rows.Select(r => r.Select(v => Md(Cell(v))).ToArray()).ToList();
        var widths = new int[n];
        for (var i = 0; i < n; i++)
            widths[i] = Math.Max(3, cells.Select(r => r[i].GetCellWidth()).Prepend(header[i].GetCellWidth()).Max());
        var line = new StringBuilder();
        void Row(string[] values)
        {
            line.Clear().Append('|');
            for (var i = 0; i < n; i++) line.Append(' ').Append(Pad(values[i], widths[i], numeric[i])).Append(" |");
            w.Write(line.Append('\n').ToString());
        }
        Row(header);
        line.Clear().Append('|');
        for (var i = 0; i < n; i++) line.Append(new string('-', widths[i] + (numeric[i] ? 1 : 2))).Append(numeric[i] ? ":|" : "|");
        w.Write(line.Append('\n').ToString());
        foreach (var r in cells) Row(r);
        if (MoreRowsLine(page, hint) is { } more) w.Write($"\n{more}\n");
    }

    private static string Md(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Pad(string s, int width, bool right)
    {
        var pad = width - s.GetCellWidth();
        if (pad <= 0) return s;
        return right ? new string(' ', pad) + s : s + new string(' ', pad);
    }

    private static void WriteTable(TextWriter w, QueryPage page, int? width, string? hint, bool rowCount)
    {
        if (page.Columns.Count == 0)
        {
            w.Write("(no result: the last statement returned no rows)\n");
            return;
        }
        var header = page.Columns.Select(OneLine).ToArray();
        var cells = page.Rows.Select(r => r.Select(Cell).ToArray()).ToList();
        var numeric = page.ColumnTypes.Select(IsNumeric).ToArray();
        var natural = new int[header.Length];
        var floors = new int[header.Length];
        for (var i = 0; i < header.Length; i++)
        {
            var values = cells.Count == 0 ? 0 : cells.Max(r => r[i].GetCellWidth());
            natural[i] = Math.Max(1, Math.Max(values, header[i].GetCellWidth()));
            // Numbers are never cut (a cut number reads as another number); other values and headers down to MinColumnWidth.
            floors[i] = Math.Min(natural[i], numeric[i] ? Math.Max(values, MinColumnWidth) : MinColumnWidth);
        }
        var layout = Fit(natural, floors, width);

        var sb = new StringBuilder();
        void Border(char left, char mid, char right)
        {
            sb.Append(left);
            for (var k = 0; k < layout.Count; k++)
            {
                if (k > 0) sb.Append(mid);
                sb.Append('─', layout[k].Width + 2);
            }
            sb.Append(right).Append('\n');
        }
        void Line(Func<int, string> text, Func<int, int, string, string> align)
        {
            sb.Append('│');
            for (var k = 0; k < layout.Count; k++)
            {
                var (col, cw) = layout[k];
                var s = col < 0 ? "…" : Truncate(text(col), cw);
                sb.Append(' ').Append(align(col, cw, s)).Append(" │");
            }
            sb.Append('\n');
        }
        Border('┌', '┬', '┐');
        Line(i => header[i], (_, cw, s) => Center(s, cw));
        Border('├', '┼', '┤');
        foreach (var r in cells) Line(i => r[i], (col, cw, s) => col < 0 ? Center(s, cw) : Pad(s, cw, numeric[col]));
        Border('└', '┴', '┘');
        w.Write(sb.ToString());

        var shown = layout.Count(c => c.Column >= 0);
        var footer = new List<string>();
        if (page.MoreRows > 0)
            footer.Add(string.Create(CultureInfo.InvariantCulture, $"{page.Rows.Count:N0} {Plural(page.Rows.Count, "row")} shown, {MoreRowsLine(page, hint)}"));
        else if (rowCount)
            footer.Add(string.Create(CultureInfo.InvariantCulture, $"{page.TotalRows:N0} {Plural(page.TotalRows, "row")}"));
        if (shown < header.Length)
            footer.Add(string.Create(CultureInfo.InvariantCulture,
                $"{shown} of {header.Length} columns shown ({string.Join(", ", Enumerable.Range(0, header.Length).Where(i => layout.All(c => c.Column != i)).Select(i => header[i]))} left out: widen the terminal, select fewer columns or use --format markdown)"));
        if (footer.Count > 0) w.Write(string.Join("; ", footer) + "\n");
    }

    /// <summary>
    /// Which columns a table shows and how wide: every column at its natural width when it fits; else the widest
    /// columns are narrowed (each to no less than its floor); else columns are left out from the middle and a <c>…</c>
    /// column (column index -1) stands for them.
    /// </summary>
    /// <param name="natural">Each column's widest cell (header included).</param>
    /// <param name="floors">How narrow each column may become.</param>
    /// <param name="width">The width to fit in, or null for no limit.</param>
    internal static IReadOnlyList<(int Column, int Width)> Fit(IReadOnlyList<int> natural, IReadOnlyList<int> floors, int? width)
    {
        var all = Enumerable.Range(0, natural.Count).ToList();
        if (width is null || Total(all.Select(i => natural[i])) <= width) return all.Select(i => (i, natural[i])).ToList();
        var limit = width.Value;
        int Floor(int i) => Math.Min(natural[i], floors[i]);
        List<int> keep;
        if (Total(all.Select(Floor)) <= limit) keep = all;
        else
        {
            // Keep columns from both ends (left first) while they fit beside a one-character "…" column.
            keep = [];
            int lo = 0, hi = natural.Count - 1;
            var used = 1 + 3 + 1; // left border, the "…" column with its padding and separator
            for (var left = true; lo <= hi; left = !left)
            {
                var next = left ? lo : hi;
                if (used + Floor(next) + 3 > limit) break;
                used += Floor(next) + 3;
                keep.Add(next);
                if (left) lo++; else hi--;
            }
            keep.Sort();
        }
        var gap = keep.Count < natural.Count;
        var budget = limit - 1 - 3 * keep.Count - (gap ? 4 : 0);
        // The largest cap c with Σ min(natural, max(c, floor)) ≤ budget: narrow the widest columns first.
        int lowCap = 1, highCap = keep.Count == 0 ? 1 : keep.Max(i => natural[i]);
        while (lowCap < highCap)
        {
            var mid = (lowCap + highCap + 1) / 2;
            if (keep.Sum(i => Math.Min(natural[i], Math.Max(mid, Floor(i)))) <= budget) lowCap = mid; else highCap = mid - 1;
        }
        var widths = keep.ToDictionary(i => i, i => Math.Min(natural[i], Math.Max(lowCap, Floor(i))));
        // Hand out what the cap left over, one cell at a time, to the columns still cut.
        var spare = budget - widths.Values.Sum();
        foreach (var i in keep.Where(i => widths[i] < natural[i]))
        {
            if (spare <= 0) break;
            var add = Math.Min(spare, natural[i] - widths[i]);
            widths[i] += add;
            spare -= add;
        }
        var result = new List<(int, int)>();
        var gapAt = gap ? keep.TakeWhile((c, k) => c == k).Count() : -1;
        for (var k = 0; k < keep.Count; k++)
        {
            if (k == gapAt) result.Add((-1, 1));
            result.Add((keep[k], widths[keep[k]]));
        }
        if (gap && gapAt == keep.Count) result.Add((-1, 1));
        return result;
    }

    private static int Total(IEnumerable<int> widths)
    {
        var n = 0;
        var sum = 1;
        foreach (var x in widths) { sum += x + 3; n++; }
        return n == 0 ? 0 : sum;
    }

    private static string Truncate(string s, int width)
    {
        if (s.GetCellWidth() <= width) return s;
        var sb = new StringBuilder();
        var used = 0;
        foreach (var rune in s.EnumerateRunes())
        {
            var r = rune.ToString();
            var rw = r.GetCellWidth();
            if (used + rw > width - 1) break;
            sb.Append(r);
            used += rw;
        }
        return sb.Append('…').ToString();
    }

    private static string Center(string s, int width)
    {
        var pad = width - s.GetCellWidth();
        if (pad <= 0) return s;
        return new string(' ', pad / 2) + s + new string(' ', pad - pad / 2);
    }
}
