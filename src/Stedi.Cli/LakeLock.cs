using Stedi.Lakehouse.Local;

namespace Stedi.Cli;

/// <summary>
/// One writer at a time on a local lake: <c>run</c>, <c>watch</c> and a local <c>invoke</c> hold an exclusive lock on
/// <c>&lt;lake&gt;/.stedi.lock</c> while they write (two writers once left a lake without its catalog). The lock is the
/// operating system's (.NET opens the file with <see cref="FileShare.None"/>, an advisory <c>flock</c> on Linux and
/// macOS), so a killed process releases it; the file itself stays, and clearing a lake keeps it.
/// </summary>
internal sealed class LakeLock : IDisposable
{
    /// <summary>The lock file's name inside the lake folder.</summary>
    public const string FileName = ".stedi.lock";

    private readonly FileStream _file;

    private LakeLock(FileStream file) => _file = file;

    /// <summary>Creates the lake folder if needed and takes its lock.</summary>
    /// <exception cref="UsageException">The path is a file, or another stedi command holds the lock.</exception>
    public static LakeLock Acquire(string lake)
    {
        if (File.Exists(lake)) throw new UsageException($"--lake {lake} is a file, not a folder: pass a folder (it is created if missing)");
        Directory.CreateDirectory(lake);
        var path = Path.Combine(lake, FileName);
        try
        {
            return new LakeLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            throw new UsageException($"the lake {lake} is in use by another stedi command: wait for it to finish, or pass --lake DIR for another lake");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
