using System.Diagnostics;
using System.Globalization;
using Stedi.Lakehouse.Local;

namespace Stedi.Cli;

/// <summary>
/// A test-only hook that makes <c>stedi run</c> die as <c>kill -9</c> would, at a point chosen by counting rather than by
/// timing, so crash-resume tests are deterministic. Set <c>STEDI_TEST_KILL_AFTER</c> to
/// <list type="bullet">
/// <item><c>ingest:N</c>: after the N-th landing object's delivery returned (its ledger entry committed; with
/// <c>--parallelism</c> above 1 another ingest may be half done);</item>
/// <item><c>refine:N</c>: after N partition recomputes finished (and the journal recorded it);</item>
/// <item><c>queued:N</c>: as soon as N refresh groups are queued — inside the ingest that queued them, after its work was
/// journaled and before its ledger entry: an ingest cut between its writes.</item>
/// </list>
/// The process then sends itself SIGKILL: no <c>finally</c>, no disposal, no flush runs, as after a crash. With a third
/// part, <c>:sigint</c> (<c>refine:10:sigint</c>), it sends itself SIGINT instead, as Ctrl+C would, and goes on: the
/// command stops as it does for a user. Unset, nothing happens. Not for users: it exists for <c>CrashResumeTests</c>.
/// </summary>
internal sealed class KillSwitch
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "STEDI_TEST_KILL_AFTER";

    private readonly string _kind;
    private readonly long _count;
    private readonly bool _interrupt;
    private int _fired;

    private KillSwitch(string kind, long count, bool interrupt) => (_kind, _count, _interrupt) = (kind, count, interrupt);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>The switch named by <see cref="Variable"/>, or null when it is unset.</summary>
    /// <exception cref="UsageException">The value is not <c>ingest:N</c>, <c>refine:N</c> or <c>queued:N</c> with N ≥ 1.</exception>
    public static KillSwitch? FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split(':');
        if (parts.Length is 2 or 3 && parts[0] is "ingest" or "refine" or "queued"
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1
            && (parts.Length == 2 || parts[2] == "sigint"))
            return new KillSwitch(parts[0], n, parts.Length == 3);
        throw new UsageException($"{Variable}={value}: expected ingest:N, refine:N or queued:N with N at least 1, optionally followed by :sigint (a test hook; unset it to run normally)");
    }

    /// <summary>Called after each delivery with the number delivered so far.</summary>
    public void AfterDelivery(long delivered)
    {
        if (_kind == "ingest" && delivered >= _count) Kill($"after {delivered} ingest(s)");
    }

    /// <summary>Called on every change of the refresh queue's state.</summary>
    public void OnQueue(QueueProgress p)
    {
        if (_kind == "refine" && p.Completed >= _count) Kill($"after {p.Completed} recompute(s)");
        else if (_kind == "queued" && p.Queued >= _count) Kill($"with {p.Queued} refresh group(s) queued");
    }

    private void Kill(string where)
    {
        // A second thread past the count waits for the kill too: returning, it went on to start (and commit) more work
        // before the signal landed (a CI run saw 12 outcomes where the kill after 10 allows one more in flight).
        if (_interrupt)
        {
            if (Interlocked.Exchange(ref _fired, 1) == 1) return;
            Console.Error.WriteLine($"{Variable}: interrupting stedi (pid {Environment.ProcessId}) {where}");
            Console.Error.Flush();
            SendSignal(Environment.ProcessId, 2); // SIGINT, as Ctrl+C
            return;
        }
        if (Interlocked.Exchange(ref _fired, 1) == 1) Thread.Sleep(Timeout.Infinite);
        Console.Error.WriteLine($"{Variable}: killing stedi (pid {Environment.ProcessId}) {where}");
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill(); // SIGKILL, as kill -9
        Thread.Sleep(Timeout.Infinite);
    }
}
