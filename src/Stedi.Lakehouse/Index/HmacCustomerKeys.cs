using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Stedi.Lakehouse.Index;

/// <summary>
/// <see cref="ICustomerKeys"/> as HMAC-SHA-256 over the UTF-8 join key, lower-case hex. The secret comes from the
/// deployment (AWS: a secret the stack creates and only the pipeline's roles can read; locally: the lake's own key).
/// Thread-safe. Keys repeat on every file of a customer's readings, so results are memoised (bounded), and each
/// thread keeps one keyed HMAC and resets it, instead of keying a new one per call (measured: a one-shot HMAC cost
/// more than parsing the record it was computed for).
/// </summary>
public sealed class HmacCustomerKeys : ICustomerKeys
{
    /// <summary>
    /// Join keys memoised at most (about 250 bytes each, so at most ~2 MB): enough for the customers a function
    /// instance meets again from file to file (a 10,000-reading file holds a few dozen); an ingest works a customer's key
    /// out once per object and a recompute once per partition anyway, so a bigger memo only held memory (measured: a
    /// 65,536-entry memo filled by one object of 200,000 customers was 13 MB of its peak).
    /// </summary>
    public const int MemoCapacity = 1 << 13;

    private readonly byte[] _secret;
    private readonly ConcurrentDictionary<string, string> _memo = new(StringComparer.Ordinal);
    private int _memoCount; // ConcurrentDictionary.Count takes every one of its locks: measured at ~10 µs a call once the memo was full
    private readonly ThreadLocal<IncrementalHash> _hmac;

    /// <summary>Creates the hash with a secret of at least 16 bytes.</summary>
    /// <exception cref="ArgumentException">The secret is shorter than 16 bytes.</exception>
    public HmacCustomerKeys(byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < 16) throw new ArgumentException("the customer-key secret must be at least 16 bytes", nameof(secret));
        _secret = (byte[])secret.Clone();
        _hmac = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _secret));
    }

    /// <summary>A secret from its text form (the secret string as stored, at least 16 characters).</summary>
    /// <exception cref="ArgumentException">The text is shorter than 16 characters.</exception>
    public static HmacCustomerKeys FromText(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < 16) throw new ArgumentException("the customer-key secret must be at least 16 characters", nameof(secret));
        return new HmacCustomerKeys(Encoding.UTF8.GetBytes(secret));
    }

    /// <inheritdoc />
    public string KeyOf(string joinKey)
    {
        ArgumentNullException.ThrowIfNull(joinKey);
        if (_memo.TryGetValue(joinKey, out var known)) return known;
        var hmac = _hmac.Value!;
        var length = Encoding.UTF8.GetMaxByteCount(joinKey.Length);
        byte[]? rented = length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> utf8 = rented ?? stackalloc byte[512];
        hmac.AppendData(utf8[..Encoding.UTF8.GetBytes(joinKey, utf8)]);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        Span<byte> mac = stackalloc byte[32];
        hmac.GetHashAndReset(mac);
        var key = Convert.ToHexStringLower(mac);
        if (Volatile.Read(ref _memoCount) < MemoCapacity && _memo.TryAdd(joinKey, key)) Interlocked.Increment(ref _memoCount);
        return key;
    }
}
