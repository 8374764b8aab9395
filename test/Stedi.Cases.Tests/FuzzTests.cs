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
/// huge numbers, nesting, blank lines, CRLF, ...) mixed with untouched good lines, ingested through the Lambda
/// handler: no crash, every good line staged exactly once with its own line number, every quarantined record has a
/// known reason code, and every object reconciles.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261129;
    private const int FilesPerSource = 10;
    private const int MutationsPerFile = 100;
    private const int GoodPerFile = 60;

    private static readonly HashSet<string> KnownReasons = typeof(ReasonCodes).GetFields()
        .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToHashSet();

    private static readonly Dictionary<string, (string Key, string[] Required)> Identity = new()
    {
        ["customer"] = ("email", ["email"]),
        ["accelerometer"] = ("timestamp", ["user", "timestamp", "x", "y", "z"]),
        ["step_trainer"] = ("sensorReadingTime", ["sensorReadingTime", "serialNumber", "distanceFromObject"]),
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

    private static byte[] Mutate(Random rng, string line, out string kind)
    {
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
            default:
            {
                var o = (JsonObject)JsonNode.Parse(line)!;
                var names = o.Select(p => p.Key).ToList();
                var name = names[rng.Next(names.Count)];
                switch (rng.Next(6))
                {
                    case 0: kind = "drop_field"; o.Remove(name); break;
                    case 1: kind = "huge_number"; o[name] = JsonNode.Parse("0"); return Encoding.UTF8.GetBytes(o.ToJsonString().Replace($"\"{name}\":0", $"\"{name}\":{HugeValues[rng.Next(HugeValues.Length)]}"));
                    case 2: kind = "flip_type"; o[name] = JsonNode.Parse("0"); return Encoding.UTF8.GetBytes(o.ToJsonString().Replace($"\"{name}\":0", $"\"{name}\":{OtherValues[rng.Next(OtherValues.Length)]}"));
                    case 3: kind = "unknown_field"; o["zz" + rng.Next(100)] = JsonNode.Parse(OtherValues[rng.Next(8)]); break;
                    case 4: kind = "duplicate_key"; return Encoding.UTF8.GetBytes(line.TrimEnd('}') + $",\"{name}\":null}}");
                    default: kind = "case_flip"; { var moved = o[name]?.DeepClone(); o.Remove(name); o[name.ToUpperInvariant()] = moved; } break;
                }
                return Encoding.UTF8.GetBytes(o.ToJsonString());
            }
        }
    }

    private sealed record GoodLine(long LineNumber, string Identity);

    [Fact]
    public async Task SeededMutationsNeverCrashLoseOrDuplicateGoodLines()
    {
        var sw = Stopwatch.StartNew();
        var rng = new Random(Seed);
        using var run = new CaseRun();
        var expected = new Dictionary<string, (string Source, List<GoodLine> Good)>();
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
                var items = Enumerable.Repeat(true, GoodPerFile).Concat(Enumerable.Repeat(false, MutationsPerFile)).OrderBy(_ => rng.Next()).ToList();
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
                        bytes = Mutate(rng, original, out var kind);
                        kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
                        mutations++;
                    }
                    body.Write(bytes);
                    body.WriteByte((byte)'\n');
                    line += 1 + bytes.Count(b => b == (byte)'\n');
                }
                var key = $"{source}/landing/fuzz-{f:D2}.json";
                await run.PutAsync(key, body.ToArray());
                expected[key] = (source, good);
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
        foreach (var (key, (source, good)) in expected)
        {
            var m = (await run.ManifestAsync(key))!;
            Assert.Equal(m.RowsRead, m.RowsStaged + m.RowsQuarantined);
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
        foreach (var (key, (_, good)) in expected)
            Assert.DoesNotContain(q, r => r.SourceKey == key && good.Any(g => g.LineNumber == r.LineNumber));
        var rec = await run.ReconcileAsync();
        Assert.Equal(expected.Count, rec.Count);
        Assert.All(rec, o => Assert.True(o.Balanced, $"{o.LandingKey} unbalanced"));
        var reasons = string.Join(", ", q.GroupBy(r => r.Reason).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"));
        output.WriteLine($"fuzz: {expected.Count} files, {mutations} mutations ({string.Join(", ", kinds.Select(k => $"{k.Key}={k.Value}"))}), {goodTotal} good lines; read {read}, staged {staged}, quarantined {quarantined} ({reasons}); {sw.Elapsed.TotalSeconds:F1} s");
    }
}
