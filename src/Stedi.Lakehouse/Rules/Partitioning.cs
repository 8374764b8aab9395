using System.Security.Cryptography;
using System.Text;

namespace Stedi.Lakehouse;

/// <summary>How rows are bucketed into partitions, and the identifiers derived from keys.</summary>
public static class Partitioning
{
    /// <summary>Number of customer hash buckets.</summary>
    public const int EmailBuckets = 16;

    private static readonly long MinMillis = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxMillis = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>Whether epoch milliseconds fall within years 0001–9999 (and so have a reading hour).</summary>
    public static bool IsValidEpochMillis(long ms) => ms >= MinMillis && ms <= MaxMillis;

    /// <summary>The reading-hour partition value of epoch milliseconds: UTC <c>yyyy-MM-dd-HH</c>.</summary>
    public static string ReadingHour(long epochMillis)
    {
        var hour = Math.DivRem(epochMillis, 3_600_000L, out var rem);
        if (rem < 0) hour--;
        // Readings cluster in few hours: format each hour once (a hot path of ingest); bounded, since a hostile file could name millions.
        if (HourNames.TryGetValue(hour, out var name)) return name;
        name = DateTimeOffset.FromUnixTimeMilliseconds(hour * 3_600_000L).UtcDateTime.ToString("yyyy-MM-dd-HH", System.Globalization.CultureInfo.InvariantCulture);
        if (HourNames.Count < 100_000) HourNames.TryAdd(hour, name);
        return name;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<long, string> HourNames = new();

    /// <summary>The customer-bucket partition value of a customer key: two digits, <c>00</c>..<c>15</c>, from SHA-256.</summary>
    public static string EmailBucket(string customerKey) =>
        (SHA256.HashData(Encoding.UTF8.GetBytes(customerKey))[0] % EmailBuckets).ToString("00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A stable id of a landing key (16 hex chars of SHA-256) used to name its staged, quarantine and manifest objects.</summary>
    public static string ObjectId(string landingKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(landingKey)))[..16];

    /// <summary>Lower-case hex SHA-256 of a string.</summary>
    public static string Sha256Hex(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
}
