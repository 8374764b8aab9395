using System.Runtime.InteropServices;

namespace Stedi.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM for a command that writes to a lake: the first signal cancels <see cref="Token"/> so the
/// command stops where the lake's journal can resume it (the progress display is taken down and the terminal's cursor
/// restored, which the default signal handling skipped) and says what finishes the work; a second one ends the process
/// at once, as the default would.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly PosixSignalRegistration _sigint, _sigterm;
    private int _signals;

    /// <param name="ct">The command's own token (linked).</param>
    /// <param name="resume">What finishes the work, e.g. <c>stedi run --keep finishes the run</c>.</param>
    public Interruption(CancellationToken ct, string resume)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void OnSignal(PosixSignalContext c)
        {
            if (Interlocked.Increment(ref _signals) > 1) return; // the default: end now
            c.Cancel = true;
            Stderr.Line($"{(c.Signal == PosixSignal.SIGINT ? "Ctrl+C" : "SIGTERM")}: stopping after the work in flight; {resume} (again to stop at once)");
            Announced = true;
            _cts.Cancel();
        }
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Whether a signal's message was printed (the exit then adds no "interrupted" line of its own).</summary>
    public static bool Announced { get; private set; }

    /// <summary>Cancelled by the first signal (or the command's own token).</summary>
    public CancellationToken Token => _cts.Token;

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _cts.Dispose();
    }
}
