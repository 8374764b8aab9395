using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Stedi.Bench;

/// <summary>
/// Scenario landings beside the N× copy: many small files in the same two hours (refine cost against the number of
/// objects in a partition) and one hour holding millions of readings (refine memory for one big partition). Both
/// carry the real customer file, so consent exists for the readings' users. Deterministic by seed.
/// </summary>
public sealed partial class Generator
{
    /// <summary>First millisecond of the UTC hour holding the earliest real accelerometer reading.</summary>
    private long FirstRealHourStart => _accel.Min(a => a.Ts) / 3_600_000L * 3_600_000L;

    /// <summary>The real customer file(s), copied verbatim into <c>dir/customer/</c>; returns (rows, files).</summary>
    private (long Rows, int Files) CopyRealCustomers(string dir)
    {
        var target = Path.Combine(dir, "customer");
        Directory.CreateDirectory(target);
        var files = Directory.GetFiles(Path.Combine(_realLanding, "customer"), "*.json").Order(StringComparer.Ordinal).ToArray();
        foreach (var f in files) File.Copy(f, Path.Combine(target, Path.GetFileName(f)), true);
        return (_customers.Count, files.Length);
    }

    private static string Coordinate(Random rng)
    {
        // Three decimals in [-1, 1], always with a decimal point, like the real readings (1.0, -0.5, 0.123).
        var v = Math.Round(rng.NextDouble() * 2 - 1, 3);
        return v.ToString("0.0##", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// <paramref name="count"/> accelerometer files of <paramref name="rowsPerFile"/> rows each, every reading in the
    /// two UTC hours of the real data (so all files land in the same two hour partitions), users drawn uniformly from
    /// the real customers (consenting or not, as the real readings are), plus the real customer file.
    /// </summary>
    public GeneratedLanding SmallFiles(string dir, int count, int rowsPerFile = 50)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerFile, 1);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var (rows, files) = CopyRealCustomers(dir);
        var users = _customers.Select(c => c["email"] is JsonValue v && v.TryGetValue<string>(out var e) ? e : null)
            .Where(e => e is not null).Select(e => JsonSerializer.Serialize(e)).ToArray();
        var start = FirstRealHourStart;
        const long span = 2 * 3_600_000L;
        var rng = new Random(_seed);
        var folder = Path.Combine(dir, "accelerometer");
        Directory.CreateDirectory(folder);
        for (var f = 0; f < count; f++)
        {
            using var w = new StreamWriter(Path.Combine(folder, $"accelerometer-small-{f:D6}.json"), false, new UTF8Encoding(false));
            for (var i = 0; i < rowsPerFile; i++)
            {
                var ts = start + rng.NextInt64(span);
                w.Write($"{{\"user\":{users[rng.Next(users.Length)]},\"timestamp\":{ts},\"x\":{Coordinate(rng)},\"y\":{Coordinate(rng)},\"z\":{Coordinate(rng)}}}\n");
            }
            rows += rowsPerFile;
            files++;
        }
        return new GeneratedLanding(dir, rows, DirBytes(dir), files, 0);
    }

    /// <summary>
    /// One UTC hour holding <paramref name="rows"/> accelerometer readings spread uniformly over the real consenting
    /// customers, in files of <paramref name="rowsPerFile"/> rows, plus the real customer file. The hour is the first
    /// one after every real consent time, so in both profiles every reading is trusted.
    /// </summary>
    public GeneratedLanding BigHour(string dir, long rows = 10_000_000, int rowsPerFile = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerFile, 1);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var (custRows, files) = CopyRealCustomers(dir);
        var consenting = _customers.Where(Consents).ToList();
        var users = consenting.Select(c => JsonSerializer.Serialize(c["email"]!.GetValue<string>())).Distinct(StringComparer.Ordinal).ToArray();
        var lastConsent = consenting.Max(c => c["shareWithResearchAsOfDate"]!.GetValue<long>());
        var hour = (lastConsent / 3_600_000L + 1) * 3_600_000L;
        var rng = new Random(_seed);
        var folder = Path.Combine(dir, "accelerometer");
        Directory.CreateDirectory(folder);
        var written = 0L;
        for (var f = 0; written < rows; f++)
        {
            using var fs = new FileStream(Path.Combine(folder, $"accelerometer-hour-{f:D5}.json"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            using var w = new StreamWriter(fs, new UTF8Encoding(false), 1 << 20);
            for (var i = 0; i < rowsPerFile && written < rows; i++, written++)
                w.Write($"{{\"user\":{users[rng.Next(users.Length)]},\"timestamp\":{hour + rng.NextInt64(3_600_000L)},\"x\":{Coordinate(rng)},\"y\":{Coordinate(rng)},\"z\":{Coordinate(rng)}}}\n");
            files++;
        }
        return new GeneratedLanding(dir, custRows + written, DirBytes(dir), files, 0);
    }

    private static long DirBytes(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
}
