using System.Security.Cryptography;
using System.Text;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// The local lake's customer-key secret: 32 random bytes as lower-case hex in one file readable by its owner only
/// (mode 600). The local twin of the secret the AWS stack creates for the pipeline's roles.
/// </summary>
internal static class LakeSecret
{
    /// <summary>File name under the lake root.</summary>
    public const string FileName = "lake-secret";

    private const int SecretBytes = 32;

    /// <summary>Reads the secret, first writing a new one when the file is missing and <paramref name="create"/> allows it.</summary>
    /// <exception cref="InvalidDataException">The file is missing and may not be created, or does not hold a hex secret of at least 16 bytes.</exception>
    public static byte[] ReadOrCreate(string path, bool create)
    {
        if (!File.Exists(path))
        {
            if (!create)
            {
                throw new InvalidDataException(
                    $"{path} is missing but the lake's index exists: its customer keys were made with that secret and cannot be recomputed without it " +
                    "(restore the file, or start a fresh lake)");
            }
            Write(path);
        }
        return Read(path);
    }

    private static void Write(string path)
    {
        // Written beside the target and moved into place without overwriting: a reader never sees a half-written
        // secret, and of two processes creating the lake at once the first move wins and both read its secret.
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(SecretBytes)) + "\n"));
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created the lake first: its secret is the lake's.
            }
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static byte[] Read(string path)
    {
        var text = File.ReadAllText(path, Encoding.ASCII).Trim();
        try
        {
            var secret = Convert.FromHexString(text);
            if (secret.Length >= 16) return secret;
        }
        catch (FormatException)
        {
        }
        throw new InvalidDataException($"{path} does not hold a customer-key secret (hex, at least 16 bytes)");
    }
}
