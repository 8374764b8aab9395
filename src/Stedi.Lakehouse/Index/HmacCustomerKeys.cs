using System.Security.Cryptography;
using System.Text;

namespace Stedi.Lakehouse.Index;

/// <summary>
/// <see cref="ICustomerKeys"/> as HMAC-SHA-256 over the UTF-8 join key, lower-case hex. The secret comes from the
/// deployment (AWS: a secret the stack creates and only the pipeline's roles can read; locally: the lake's own key).
/// Thread-safe.
/// </summary>
public sealed class HmacCustomerKeys : ICustomerKeys
{
    private readonly byte[] _secret;

    /// <summary>Creates the hash with a secret of at least 16 bytes.</summary>
    /// <exception cref="ArgumentException">The secret is shorter than 16 bytes.</exception>
    public HmacCustomerKeys(byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < 16) throw new ArgumentException("the customer-key secret must be at least 16 bytes", nameof(secret));
        _secret = (byte[])secret.Clone();
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
        var max = Encoding.UTF8.GetMaxByteCount(joinKey.Length);
        Span<byte> mac = stackalloc byte[32];
        if (max <= 512)
        {
            Span<byte> bytes = stackalloc byte[max];
            var n = Encoding.UTF8.GetBytes(joinKey, bytes);
            HMACSHA256.HashData(_secret, bytes[..n], mac);
        }
        else HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(joinKey), mac);
        return Convert.ToHexStringLower(mac);
    }
}
