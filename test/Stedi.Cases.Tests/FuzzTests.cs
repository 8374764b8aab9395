using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using Stedi.Lakehouse.Reading;
using Xunit.Abstractions;

namespace Stedi.Cases.Tests;

/// <summary>
/// Seeded mutations of real landing lines (truncation, wrong types, missing fields, garbage and invalid UTF-8 bytes,
/// huge numbers, nesting, blank lines, CRLF, a key twice or in two spellings, times outside the plausible window, ...)
/// mixed with untouched good lines, in JSON-lines files and in top-level JSON arrays (pretty-printed or on one line,
/// with non-object elements, text after the bracket, a cut last element or a missing bracket), ingested through the
/// Lambda handler: no crash, every good record staged exactly once with its own line number, every mutation whose
/// outcome is certain quarantined with its reason at its line, every quarantined record has a known reason code, and
/// every object reconciles.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261129;
    private const int FilesPerSource = 10;
    private const int MutationsPerFile = 100;
    private const int GoodPerFile = 60;

    private static readonly HashSet<string> KnownReasons = typeof(ReasonCodes).GetFields()
        .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToHashSet();

    private const int ArrayFilesPerSource = 4;
    private const int ArrayGood = 30;
    private const int ArrayMutations = 40;

    private static readonly Dictionary<string, (string Key, string[] Required, string Time)> Identity = new()
    {
        ["customer"] = ("email", ["email"], "lastUpdateDate"),
        ["accelerometer"] = ("timestamp", ["user", "timestamp", "x", "y", "z"], "timestamp"),
        ["step_trainer"] = ("sensorReadingTime", ["sensorReadingTime", "serialNumber", "distanceFromObject"], "sensorReadingTime"),
    };

    /// <summary>Real lines of a source that an independent check (System.Text.Json, required fields typed) calls good.</summary>
    private static List<string> GoodRealLines(string source, int max)
    {
        var dir = Path.Combine(CasePaths.RealLanding, source);
        var result = new List<string>();
        foreach (var f in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            foreach (var line in File.ReadLines(f))
            {
                if (result.Count >= max) return result;
                if (IndependentlyGood(source, line)) result.Add(line);
            }
        return result;
    }

    private static bool IndependentlyGood(string source, string line)
    {
        try
        {
            if (JsonNode.Parse(line) is not JsonObject o) return false;
            if (o[Identity[source].Time] is JsonValue t && t.TryGetValue<long>(out var ms) && !TimeWindow.Default().Contains(ms)) return false;
            foreach (var req in Identity[source].Required)
            {
                if (o[req] is not JsonValue v) return false;
                var ok = req switch
                {
                    "email" or "user" or "serialNumber" => v.TryGetValue<string>(out var s) && s.Length > 0,
                    "x" or "y" or "z" => v.TryGetValue<double>(out _),
                    "distanceFromObject" => v.TryGetValue<long>(out _),
                    _ => v.TryGetValue<long>(out var l) && l > 0,
                };
                if (!ok) return false;
            }
            return true;
        }
        catch (JsonException) { return false; }
    }

    private static readonly byte[] Garbage = [0xFF, 0xFE, 0xC3, 0x28, 0xE2, 0x82, 0x00, 0x7B, 0x7D, 0x22, 0x5C, 0x2C, 0x5B, 0x5D, 0x3A, 0x0A, 0x0D, 0x09, 0xEF, 0xBB, 0xBF, 0x80];
    private static readonly string[] HugeValues = ["1e400", "-1e400", "99999999999999999999", "-99999999999999999999", "1.5", "1e18", "9223372036854775808", "0.0000001", "NaN", "Infinity", "\"1e400\"", "\"99999999999999999999\""];
    private static readonly string[] OtherValues = ["\"abc\"", "\"\"", "\" 12\"", "true", "false", "null", "[]", "[1,2]", "{}", "{\"a\":{\"b\":[1,{\"c\":null}]}}", "\"007\"", "0", "-1", "\"1750000001000\"", "\"\\u0000\"", "\"\\ud800\""];

    /// <summary>Times a producer with a unit bug sends: seconds, microseconds, zero, −1, before 2015, a year ahead.</summary>
    private static long OutOfWindow(Random rng, long t) => rng.Next(6) switch
    {
        0 => t / 1000,
        1 => t * 1000,
        2 => 0,
        3 => -1,
        4 => 1_400_000_000_000,
        _ => DateTimeOffset.UtcNow.AddDays(400).ToUnixTimeMilliseconds(),
    };

    /// <summary>A mutation of one line; <paramref name="certain"/> is the reason it must be quarantined under, when that is certain.</summary>
    private static byte[] Mutate(Random rng, string source, string line, out string kind, out string? certain)
    {
        certain = null;
        switch (rng.Next(14))
        {
            case 0: kind = "truncate"; { var b = Encoding.UTF8.GetBytes(line); return b[..rng.Next(1, b.Length)]; }
            case 1: kind = "garbage"; { var b = Encoding.UTF8.GetBytes(line).ToList(); var n = rng.Next(1, 6); for (var i = 0; i < n; i++) b.Insert(rng.Next(b.Count + 1), Garbage[rng.Next(Garbage.Length)]); return b.ToArray(); }
            case 2: kind = "empty"; return rng.Next(3) switch { 0 => [], 1 => "   \t"u8.ToArray(), _ => "\r"u8.ToArray() };
            case 3: kind = "crlf"; return Encoding.UTF8.GetBytes(line + "\r");
            case 4: kind = "pure_garbage"; { var b = new byte[rng.Next(1, 40)]; rng.NextBytes(b); return b; }
            case 5: kind = "open_brace"; return rng.Next(2) == 0 ? "{"u8.ToArray() : "{\"user\":\"a@example.com\","u8.ToArray();
            case 6: kind = "array"; return Encoding.UTF8.GetBytes("[" + line + "]");
            case 7: kind = "trailing"; return Encoding.UTF8.GetBytes(line + (rng.Next(2) == 0 ? "}" : " x"));
            default: return Encoding.UTF8.GetBytes(MutateFields(rng, source, line, out kind, out certain));
        }
    }

    /// <summary>A mutation that keeps the line one balanced JSON-ish value (safe inside an array: it never swallows its neighbours).</summary>
    /// <summary>
    /// Line breaks inside a written item, as the scanner counts them: '\n', and a bare '\r' (one not followed by '\n'; a
    /// '\r' at the item's end is followed by the '\n' the file writes after it, and the two are one break).
    /// </summary>
    private static int LineBreaks(byte[] bytes)
    {
        var n = 0;
        for (var i = 0; i < bytes.Length; i++)
            if (bytes[i] == (byte)'\n' || (bytes[i] == (byte)'\r' && i + 1 < bytes.Length && bytes[i + 1] != (byte)'\n')) n++;
        return n;
    }

    private static string MutateFields(Random rng, string source, string line, out string kind, out string? certain)
    {
        certain = null;
        var o = (JsonObject)JsonNode.Parse(line)!;
        var names = o.Select(p => p.Key).ToList();
        var name = names[rng.Next(names.Count)];
        switch (rng.Next(8))
        {
            case 0: kind = "drop_field"; o.Remove(name); break;
            case 1: kind = "huge_number"; o[name] = JsonNode.Parse("0"); return o.ToJsonString().Replace($"\"{name}\":0", $"\"{name}\":{HugeValues[rng.Next(HugeValues.Length)]}");
            case 2: kind = "flip_type"; o[name] = JsonNode.Parse("0"); return o.ToJsonString().Replace($"\"{name}\":0", $"\"{name}\":{OtherValues[rng.Next(OtherValues.Length)]}");
            case 3: kind = "unknown_field"; o["zz" + rng.Next(100)] = JsonNode.Parse(OtherValues[rng.Next(8)]); break;
            case 4: kind = "duplicate_key"; certain = ReasonCodes.ConflictingKeys; return line.TrimEnd('}') + $",\"{name}\":null}}";
            case 5: kind = "case_flip"; { var moved = o[name]?.DeepClone(); o.Remove(name); o[name.ToUpperInvariant()] = moved; } break;
            case 6:
            {
                // A second spelling of a field (timeStamp beside timestamp): two values for one column.
                kind = "case_variant"; certain = ReasonCodes.ConflictingKeys;
                var variant = char.IsUpper(name[0]) ? char.ToLowerInvariant(name[0]) + name[1..] : char.ToUpperInvariant(name[0]) + name[1..];
                if (variant == name) variant = name.ToUpperInvariant();
                o[variant] = o[name]?.DeepClone();
                break;
            }
            default:
            {
                kind = "out_of_window"; certain = ReasonCodes.OutOfRange;
                var field = Identity[source].Time;
                o[field] = JsonValue.Create(OutOfWindow(rng, o[field]!.GetValue<long>()));
                break;
            }
        }
        return o.ToJsonString();
    }

    /// <summary>An element of a top-level array that is not an object.</summary>
    private static readonly string[] NotObjects = ["42", "-1.5e3", "\"text, with ] and } inside\"", "true", "null", "[1,{\"a\":[2]}]", "[]"];

    private sealed record GoodLine(long LineNumber, string Identity);

    /// <summary>One generated landing object and what must come of it.</summary>
    private sealed record FuzzFile(string Source, List<GoodLine> Good, List<(long Line, string Reason)> Certain, bool OneLine, bool? ArrayClosed);

    /// <summary>
    /// A top-level array of good and mutated records of <paramref name="real"/>: pretty-printed (one element per line)
    /// or on one line, ending closed, closed with text after it, with a cut last element, or without its bracket.
    /// </summary>
    private static (byte[] Body, FuzzFile File) ArrayFile(Random rng, string source, List<string> real, bool oneLine, SortedDictionary<string, int> kinds, ref int mutations)
    {
        var sb = new StringBuilder(rng.Next(2) == 0 ? "[" : "  [");
        long line = 1;
        var good = new List<GoodLine>();
        var certain = new List<(long, string)>();
        var items = Enumerable.Repeat(true, ArrayGood).Concat(Enumerable.Repeat(false, ArrayMutations)).OrderBy(_ => rng.Next()).ToList();
        var sep = oneLine ? "," : ",\n";
        if (!oneLine) { sb.Append('\n'); line++; }
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0) { sb.Append(i % 7 == 0 && !oneLine ? " ,\n " : sep); if (!oneLine) line++; }
            var original = real[rng.Next(real.Count)];
            if (items[i])
            {
                good.Add(new GoodLine(line, JsonNode.Parse(original)![Identity[source].Key]!.ToJsonString().Trim('"')));
                sb.Append(original);
                continue;
            }
            mutations++;
            string text, kind;
            string? reason;
            if (rng.Next(5) == 0) { kind = "array_not_object"; reason = ReasonCodes.NotAnObject; text = NotObjects[rng.Next(NotObjects.Length)]; }
            else text = MutateFields(rng, source, original, out kind, out reason);
            kinds["array:" + kind] = kinds.GetValueOrDefault("array:" + kind) + 1;
            if (reason is not null) certain.Add((line, reason));
            sb.Append(text);
        }
        bool? closed = true;
        switch (rng.Next(4))
        {
            case 0: sb.Append("\n]\n"); break;
            case 1:
                sb.Append("\n] \n");
                line += 2;
                sb.Append("trailing words\n").Append(real[0]).Append('\n');
                certain.Add((line, ReasonCodes.TextAfterArray));
                certain.Add((line + 1, ReasonCodes.TextAfterArray));
                kinds["array:text_after"] = kinds.GetValueOrDefault("array:text_after") + 1;
                break;
            case 2:
            {
                sb.Append(sep);
                if (!oneLine) line++;
                var cut = real[rng.Next(real.Count)];
                sb.Append(cut[..rng.Next(1, cut.Length - 1)]);
                certain.Add((line, ReasonCodes.TruncatedJson));
                kinds["array:cut_element"] = kinds.GetValueOrDefault("array:cut_element") + 1;
                closed = false;
                break;
            }
            default: sb.Append('\n'); closed = false; kinds["array:no_bracket"] = kinds.GetValueOrDefault("array:no_bracket") + 1; break;
        }
        return (Encoding.UTF8.GetBytes(sb.ToString()), new FuzzFile(source, good, oneLine ? [] : certain.Select(c => ((long)c.Item1, c.Item2)).ToList(), oneLine, closed));
    }

    [Fact]
    public async Task SeededMutationsNeverCrashLoseOrDuplicateGoodLines()
    {
        var sw = Stopwatch.StartNew();
        var rng = new Random(Seed);
        using var run = new CaseRun();
        var expected = new Dictionary<string, FuzzFile>();
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var mutations = 0;
        var keys = new List<string>();
        foreach (var source in new[] { "customer", "accelerometer", "step_trainer" })
        {
            var real = GoodRealLines(source, 2000);
            Assert.True(real.Count > 100, $"too few good real lines for {source}");
            for (var f = 0; f < FilesPerSource; f++)
            {
                var body = new MemoryStream();
                long line = 1;
                var good = new List<GoodLine>();
                var certain = new List<(long, string)>();
                var items = Enumerable.Repeat(true, GoodPerFile).Concat(Enumerable.Repeat(false, MutationsPerFile)).OrderBy(_ => rng.Next()).ToList();
                // A JSON-lines file starts with a record: one starting with '[' is read as a top-level array (the files below).
                items[items.IndexOf(true)] = false;
                items[0] = true;
                foreach (var isGood in items)
                {
                    var original = real[rng.Next(real.Count)];
                    byte[] bytes;
                    if (isGood)
                    {
                        bytes = Encoding.UTF8.GetBytes(original);
                        var id = JsonNode.Parse(original)![Identity[source].Key]!.ToJsonString().Trim('"');
                        good.Add(new GoodLine(line, id));
                    }
                    else
                    {
                        bytes = Mutate(rng, source, original, out var kind, out var reason);
                        if (reason is not null) certain.Add((line, reason));
                        kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
                        mutations++;
                    }
                    body.Write(bytes);
                    body.WriteByte((byte)'\n');
                    line += 1 + LineBreaks(bytes);
                }
                var key = $"{source}/landing/fuzz-{f:D2}.json";
                await run.PutAsync(key, body.ToArray());
                expected[key] = new FuzzFile(source, good, certain.Select(c => ((long)c.Item1, c.Item2)).ToList(), false, null);
                keys.Add(key);
            }
            for (var f = 0; f < ArrayFilesPerSource; f++)
            {
                var (body, file) = ArrayFile(rng, source, real, oneLine: f == ArrayFilesPerSource - 1, kinds, ref mutations);
                var key = $"{source}/landing/fuzz-array-{f:D2}.json";
                await run.PutAsync(key, body);
                expected[key] = file;
                keys.Add(key);
            }
        }

        // Deliver through the handler, customer files first, several records per notification.
        foreach (var batch in keys.Chunk(5))
        {
            var events = new List<string>();
            foreach (var k in batch) events.Add(await run.P.EventForAsync(k));
            var records = events.SelectMany(e => JsonNode.Parse(e)!["Records"]!.AsArray().Select(r => r!.DeepClone())).ToArray();
            var r = await run.Handler.HandleEventAsync(new JsonObject { ["Records"] = new JsonArray(records) }.ToJsonString());
            Assert.All(r.Outcomes, o => Assert.Equal("ingested", o.Status));
        }
        await run.P.Queue.DrainAsync();

        long read = 0, staged = 0, quarantined = 0, goodTotal = 0;
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        foreach (var (key, file) in expected)
        {
            var (source, good) = (file.Source, file.Good);
            var m = (await run.ManifestAsync(key))!;
            Assert.Equal(m.RowsRead, m.RowsStaged + m.RowsQuarantined);
            Assert.Equal(file.ArrayClosed is not null, m.UnwrappedArray);
            if (file.ArrayClosed is { } closed)
            {
                Assert.Equal(!closed, m.ArrayNotClosed);
                Assert.Equal(ArrayGood + ArrayMutations + (closed ? 0 : m.QuarantinedByReason.GetValueOrDefault(ReasonCodes.TruncatedJson)), m.ArrayElements);
            }
            read += m.RowsRead; staged += m.RowsStaged; quarantined += m.RowsQuarantined; goodTotal += good.Count;
            // Staged rows of this object: (line_number, identity) of every good line exactly once.
            var idCol = Identity[source].Key;
            var files = m.StagedKeys.Select(k => "'" + Path.Combine(run.Bucket, k) + "'").ToList();
            Assert.NotEmpty(files);
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT line_number, CAST(\"{idCol}\" AS VARCHAR) FROM read_parquet([{string.Join(",", files)}], union_by_name = true)";
            var stagedRows = new List<(long Line, string Id)>();
            using (var rd = cmd.ExecuteReader())
                while (rd.Read()) stagedRows.Add((rd.GetInt64(0), rd.GetString(1)));
            Assert.Equal(m.RowsStaged, stagedRows.Count);
            if (file.OneLine)
            {
                // Every element on line 1: each good element's identity is staged at least as often as it was written.
                Assert.All(stagedRows, r => Assert.Equal(1, r.Line));
                foreach (var g in good.GroupBy(g => g.Identity))
                    Assert.True(stagedRows.Count(r => r.Id == g.Key) >= g.Count(), $"{key}: good element {g.Key} lost");
                continue;
            }
            var byLine = stagedRows.GroupBy(s => s.Line).ToDictionary(g => g.Key, g => g.ToList());
            Assert.All(byLine, g => Assert.True(g.Value.Count == 1, $"{key}: line {g.Key} staged {g.Value.Count} times"));
            foreach (var g in good)
            {
                Assert.True(byLine.TryGetValue(g.LineNumber, out var rows), $"{key}: good line {g.LineNumber} lost");
                Assert.Equal(g.Identity, rows![0].Id);
            }
        }
        var q = run.AllQuarantine();
        Assert.Equal(quarantined, q.Count);
        Assert.All(q, r =>
        {
            Assert.Contains(r.Reason, KnownReasons);
            Assert.False(string.IsNullOrWhiteSpace(r.Detail));
            Assert.True(r.LineNumber >= 1);
            Assert.True(expected.ContainsKey(r.SourceKey));
        });
        foreach (var (key, file) in expected)
        {
            Assert.DoesNotContain(q, r => r.SourceKey == key && file.Good.Any(g => g.LineNumber == r.LineNumber) && !file.OneLine);
            // A mutation whose outcome is certain is quarantined at its line with its reason.
            foreach (var (line, reason) in file.Certain)
                Assert.True(q.Any(r => r.SourceKey == key && r.LineNumber == line && r.Reason == reason),
                    $"{key}: line {line} not quarantined as {reason} (found {string.Join(", ", q.Where(r => r.SourceKey == key && r.LineNumber == line).Select(r => r.Reason))})");
        }
        var rec = await run.ReconcileAsync();
        Assert.Equal(expected.Count, rec.Count);
        Assert.All(rec, o => Assert.True(o.Balanced, $"{o.LandingKey} unbalanced"));
        foreach (var reason in new[] { ReasonCodes.ConflictingKeys, ReasonCodes.OutOfRange, ReasonCodes.NotAnObject, ReasonCodes.TextAfterArray, ReasonCodes.TruncatedJson })
            Assert.Contains(q, r => r.Reason == reason);
        var reasons = string.Join(", ", q.GroupBy(r => r.Reason).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"));
        output.WriteLine($"fuzz: {expected.Count} files, {mutations} mutations ({string.Join(", ", kinds.Select(k => $"{k.Key}={k.Value}"))}), {goodTotal} good records; read {read}, staged {staged}, quarantined {quarantined} ({reasons}); {sw.Elapsed.TotalSeconds:F1} s");
    }
}
