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
    public static string ReadingHour(long epochMillis) =>
        DateTimeOffset.FromUnixTimeMilliseconds(epochMillis).UtcDateTime.ToString("yyyy-MM-dd-HH", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The customer-bucket partition value of a customer key: two digits, <c>00</c>..<c>15</c>, from SHA-256.</summary>
    public static string EmailBucket(string customerKey) =>
        (SHA256.HashData(Encoding.UTF8.GetBytes(customerKey))[0] % EmailBuckets).ToString("00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A stable id of a landing key (16 hex chars of SHA-256) used to name its staged, quarantine and manifest objects.</summary>
    public static string ObjectId(string landingKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(landingKey)))[..16];

    /// <summary>Lower-case hex SHA-256 of a string.</summary>
    public static string Sha256Hex(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
}
