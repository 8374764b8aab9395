using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Stedi.Twin.Emulation;

/// <summary>
/// A moto server this process started (<c>python3 -m moto.server -H 127.0.0.1 -p &lt;free port&gt;</c>), stopped on
/// dispose. Moto runs behind a small wrapper that exits when its stdin closes, so a killed <c>stedi</c> does not leave
/// moto behind. <c>STEDI_MOTO_PYTHON</c> overrides the interpreter (default <c>python3</c>).
/// </summary>
public sealed class MotoProcess : IAsyncDisposable
{
    private const string Wrapper =
        "import os, sys, threading\n" +
        "threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n" +
        "from moto.server import main\n" +
        "main(sys.argv[1:])\n";

    private readonly Process _process;

    private MotoProcess(Process process, string endpoint) => (_process, Endpoint) = (process, endpoint);

    /// <summary>The endpoint, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public string Endpoint { get; }

    /// <summary>Starts moto on a free port and waits until it answers.</summary>
    /// <param name="timeout">How long to wait for the first answer (default 60 s).</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="InvalidOperationException">Python or moto is missing (moto exited before answering).</exception>
    /// <exception cref="TimeoutException">Moto did not answer in time.</exception>
    public static async Task<MotoProcess> StartAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("STEDI_MOTO_PYTHON") ?? "python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-c", Wrapper, "-H", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("could not start python3"); }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"could not start {psi.FileName}: {e.Message} (install Python 3 and moto[server])", e); }
        var stderr = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { lock (stderr) if (stderr.Length < 4000) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var moto = new MotoProcess(process, $"http://127.0.0.1:{port}");
        try
        {
            await WaitReadyAsync(moto.Endpoint, process, timeout ?? TimeSpan.FromSeconds(60), () => { lock (stderr) return stderr.ToString(); }, ct);
        }
        catch
        {
            await moto.DisposeAsync();
            throw;
        }
        return moto;
    }

    /// <summary>Waits until a moto endpoint answers <c>/moto-api/</c>.</summary>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public static Task WaitReadyAsync(string endpoint, TimeSpan timeout, CancellationToken ct = default) =>
        WaitReadyAsync(endpoint, null, timeout, () => "", ct);

    private static async Task WaitReadyAsync(string endpoint, Process? process, TimeSpan timeout, Func<string> stderr, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (process is { HasExited: true })
                throw new InvalidOperationException($"moto exited with code {process.ExitCode} before answering (is moto[server] installed? pip install 'moto[server]'): {stderr().Trim()}");
            try
            {
                using var r = await http.GetAsync($"{endpoint.TrimEnd('/')}/moto-api/", ct);
                if (r.StatusCode != HttpStatusCode.ServiceUnavailable) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"moto at {endpoint} did not answer within {timeout.TotalSeconds:0} s");
            await Task.Delay(100, ct);
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Stops moto (closing its stdin, then killing it if it is still running after 3 s).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                try { _process.StandardInput.Close(); } catch (IOException) { }
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try { await _process.WaitForExitAsync(wait.Token); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
