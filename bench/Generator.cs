using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Stedi.Bench;

/// <summary>What the generator wrote.</summary>
public sealed record GeneratedLanding(string Dir, long Rows, long Bytes, int Files, int ConsentChanges);

/// <summary>
/// Scales the real STEDI landing data N× deterministically (by seed), keeping its shape: copy k of every customer
/// gets a new email (<c>local.k@domain</c>) and a new serial (derived from seed, k and the real serial), and copy k of
/// every reading is shifted by k × <see cref="CopyShiftMs"/>, so the time span grows with N and each UTC hour holds
/// about what the real data's hours hold (the real data spans 43 minutes over two hours, ~40k accelerometer rows an
/// hour). Readings per customer, readings per millisecond, timestamps shared across customers and the share of
/// consenting customers are those of the real data. Files hold <see cref="RowsPerFile"/> rows like the real ones.
/// A later customer file carries consent changes: newer records that withdraw or grant consent.
/// </summary>
public sealed partial class Generator
{
    /// <summary>Shift between copies: two hours (the real data's 43 minutes fall into ~2 hour buckets).</summary>
    public const long CopyShiftMs = 2 * 3_600_000L;
    /// <summary>Rows per accelerometer / step trainer file, as in the real data.</summary>
    public const int RowsPerFile = 10_000;
    /// <summary>Rows per customer file.</summary>
    public const int CustomersPerFile = 5_000;

    private static readonly string[] DateFields = ["registrationDate", "lastUpdateDate", "shareWithResearchAsOfDate", "shareWithPublicAsOfDate", "shareWithFriendsAsOfDate"];

    private readonly List<JsonObject> _customers = [];
    private readonly List<(string User, long Ts, string X, string Y, string Z)> _accel = [];
    private readonly List<(long Ts, string Serial, string Dist)> _steps = [];
    private readonly int _seed;
    private readonly string _realLanding;

    /// <summary>Reads the real landing data once.</summary>
    public Generator(string realLanding, int seed)
    {
        _seed = seed;
        _realLanding = realLanding;
        foreach (var f in Directory.GetFiles(Path.Combine(realLanding, "customer"), "*.json").Order(StringComparer.Ordinal))
            foreach (var l in File.ReadLines(f)) if (l.Trim().Length > 0) _customers.Add(JsonNode.Parse(l)!.AsObject());
        foreach (var f in Directory.GetFiles(Path.Combine(realLanding, "accelerometer"), "*.json").Order(StringComparer.Ordinal))
            foreach (var l in File.ReadLines(f))
            {
                if (l.Trim().Length == 0) continue;
                using var d = JsonDocument.Parse(l);
                var r = d.RootElement;
                _accel.Add((r.GetProperty("user").GetString()!, r.GetProperty("timestamp").GetInt64(),
                    r.GetProperty("x").GetRawText(), r.GetProperty("y").GetRawText(), r.GetProperty("z").GetRawText()));
            }
        foreach (var f in Directory.GetFiles(Path.Combine(realLanding, "step_trainer"), "*.json").Order(StringComparer.Ordinal))
            foreach (var l in File.ReadLines(f))
            {
                if (l.Trim().Length == 0) continue;
                using var d = JsonDocument.Parse(l);
                var r = d.RootElement;
                _steps.Add((r.GetProperty("sensorReadingTime").GetInt64(), r.GetProperty("serialNumber").GetString()!, r.GetProperty("distanceFromObject").GetRawText()));
            }
    }

    /// <summary>Rows of the real data (customers + accelerometer + step trainer).</summary>
    public long RealRows => _customers.Count + _accel.Count + _steps.Count;

    /// <summary>The email of copy k (copy 0 is the real email).</summary>
    public static string EmailOf(string email, int k)
    {
        if (k == 0) return email;
        var at = email.LastIndexOf('@');
        return at < 0 ? $"{email}.{k}" : $"{email[..at]}.{k}{email[at..]}";
    }

    /// <summary>The serial of copy k: a GUID derived from seed, k and the real serial (copy 0 is the real serial).</summary>
    public string SerialOf(string serial, int k)
    {
        if (k == 0) return serial;
        var h = MD5.HashData(Encoding.UTF8.GetBytes($"{_seed}:{k}:{serial}"));
        return new Guid(h).ToString();
    }

    private static string Q(string s) => JsonSerializer.Serialize(s);

    private JsonObject CustomerCopy(JsonObject real, int k)
    {
        var c = real.DeepClone().AsObject();
        if (c["email"] is JsonValue e && e.TryGetValue<string>(out var email)) c["email"] = EmailOf(email, k);
        if (c["serialNumber"] is JsonValue s && s.TryGetValue<string>(out var serial)) c["serialNumber"] = SerialOf(serial, k);
        foreach (var f in DateFields)
            if (c[f] is JsonValue v && v.TryGetValue<long>(out var t)) c[f] = t + k * CopyShiftMs;
        return c;
    }

    private static bool Consents(JsonObject c) => c["shareWithResearchAsOfDate"] is JsonValue v && v.TryGetValue<long>(out var t) && t > 0;

    /// <summary>Writes N× the real data under <paramref name="dir"/> (customer/, accelerometer/, step_trainer/).</summary>
    public GeneratedLanding Write(string dir, int scale)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        long rows = 0;
        var files = 0;

        // customers
        using (var w = new ChunkedWriter(Path.Combine(dir, "customer"), "customer", CustomersPerFile))
        {
            for (var k = 0; k < scale; k++)
                foreach (var c in _customers) w.WriteLine(CustomerCopy(c, k).ToJsonString());
            rows += w.Rows; files += w.Files;
        }
        // consent changes: a later customer file with newer records (half withdraw, half grant)
        var rng = new Random(_seed);
        var changes = Math.Max(4, scale);
        using (var w = new ChunkedWriter(Path.Combine(dir, "customer"), "customer", int.MaxValue, firstName: 9_000_000_000_000))
        {
            var consenting = _customers.Where(Consents).ToList();
            var refusing = _customers.Where(c => !Consents(c)).ToList();
            var used = new HashSet<(int, int)>();
            for (var i = 0; i < changes; i++)
            {
                var grant = i % 2 == 1;
                var pool = grant ? refusing : consenting;
                int k, idx;
                do { k = rng.Next(scale); idx = rng.Next(pool.Count); } while (!used.Add((k, grant ? -idx - 1 : idx)));
                var c = CustomerCopy(pool[idx], k);
                var last = c["lastUpdateDate"] is JsonValue lv && lv.TryGetValue<long>(out var l) ? l : k * CopyShiftMs;
                c["lastUpdateDate"] = last + 86_400_000L;
                if (grant) c["shareWithResearchAsOfDate"] = c["registrationDate"]?.DeepClone() ?? JsonValue.Create(last);
                else c.Remove("shareWithResearchAsOfDate");
                w.WriteLine(c.ToJsonString());
            }
            rows += w.Rows; files += w.Files;
        }
        // accelerometer
        using (var w = new ChunkedWriter(Path.Combine(dir, "accelerometer"), "accelerometer", RowsPerFile))
        {
            for (var k = 0; k < scale; k++)
            {
                var users = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (user, ts, x, y, z) in _accel)
                {
                    if (!users.TryGetValue(user, out var qu)) users[user] = qu = Q(EmailOf(user, k));
                    w.WriteLine($"{{\"user\":{qu},\"timestamp\":{ts + k * CopyShiftMs},\"x\":{x},\"y\":{y},\"z\":{z}}}");
                }
            }
            rows += w.Rows; files += w.Files;
        }
        // step trainer
        using (var w = new ChunkedWriter(Path.Combine(dir, "step_trainer"), "step_trainer", RowsPerFile))
        {
            for (var k = 0; k < scale; k++)
            {
                var serials = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (ts, serial, dist) in _steps)
                {
                    if (!serials.TryGetValue(serial, out var qs)) serials[serial] = qs = Q(SerialOf(serial, k));
                    w.WriteLine($"{{\"sensorReadingTime\":{ts + k * CopyShiftMs},\"serialNumber\":{qs},\"distanceFromObject\":{dist}}}");
                }
            }
            rows += w.Rows; files += w.Files;
        }
        var bytes = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return new GeneratedLanding(dir, rows, bytes, files, changes);
    }

    /// <summary>
    /// The incremental inputs: a new 10,000-row accelerometer file (readings of the last copy's customers at existing
    /// milliseconds, x moved by 0.5, so they land in existing hour partitions) and a customer file with one newer
    /// record (a consenting customer of the last copy withdrawing consent).
    /// </summary>
    public (string AccelFile, string CustomerFile) WriteIncremental(string dir, int scale)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var k = scale - 1;
        Directory.CreateDirectory(Path.Combine(dir, "accelerometer"));
        Directory.CreateDirectory(Path.Combine(dir, "customer"));
        var accel = Path.Combine(dir, "accelerometer", "accelerometer-9100000000000.json");
        using (var w = new StreamWriter(accel, false, new UTF8Encoding(false)))
            foreach (var (user, ts, x, y, z) in _accel.Take(RowsPerFile))
            {
                var nx = (double.Parse(x, CultureInfo.InvariantCulture) + 0.5).ToString("R", CultureInfo.InvariantCulture);
                if (!nx.Contains('.') && !nx.Contains('E')) nx += ".0";
                w.Write($"{{\"user\":{Q(EmailOf(user, k))},\"timestamp\":{ts + k * CopyShiftMs},\"x\":{nx},\"y\":{y},\"z\":{z}}}\n");
            }
        var cust = Path.Combine(dir, "customer", "customer-9100000000000.json");
        // The consenting customer with the most readings in the last copy: the withdrawal touches as many partitions as any.
        var byUser = _accel.GroupBy(a => a.User).ToDictionary(g => g.Key, g => g.Count());
        var pick = _customers.Where(Consents).OrderByDescending(c => byUser.GetValueOrDefault(c["email"]!.GetValue<string>())).First();
        var rec = CustomerCopy(pick, k);
        rec["lastUpdateDate"] = rec["lastUpdateDate"]!.GetValue<long>() + 2 * 86_400_000L;
        rec.Remove("shareWithResearchAsOfDate");
        File.WriteAllText(cust, rec.ToJsonString() + "\n", new UTF8Encoding(false));
        return (accel, cust);
    }

    /// <summary>One accelerometer landing object of about <paramref name="megabytes"/> MB (copies of the real readings, shifted per copy).</summary>
    public (string File, long Rows, long Bytes) WriteBigObject(string dir, int megabytes)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "accelerometer-big.json");
        var target = megabytes * 1024L * 1024L;
        long rows = 0;
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new StreamWriter(fs, new UTF8Encoding(false), 1 << 20);
        for (var k = 0; fs.Position < target; k++)
        {
            var users = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (user, ts, x, y, z) in _accel)
            {
                if (!users.TryGetValue(user, out var qu)) users[user] = qu = Q(EmailOf(user, k));
                w.Write($"{{\"user\":{qu},\"timestamp\":{ts + k * CopyShiftMs},\"x\":{x},\"y\":{y},\"z\":{z}}}\n");
                rows++;
            }
            w.Flush();
        }
        w.Flush();
        return (path, rows, fs.Length);
    }

    private sealed class ChunkedWriter(string folder, string prefix, int rowsPerFile, long firstName = 1_691_348_231_000) : IDisposable
    {
        private StreamWriter? _w;
        private int _inFile;
        public long Rows { get; private set; }
        public int Files { get; private set; }

        public void WriteLine(string line)
        {
            if (_w is null || _inFile >= rowsPerFile)
            {
                _w?.Dispose();
                Directory.CreateDirectory(folder);
                _w = new StreamWriter(Path.Combine(folder, $"{prefix}-{firstName + Files}.json"), false, new UTF8Encoding(false), 1 << 16);
                Files++;
                _inFile = 0;
            }
            _w.Write(line);
            _w.Write('\n');
            _inFile++;
            Rows++;
        }

        public void Dispose() => _w?.Dispose();
    }
}
