using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>
/// The moto server of this test run: the one at <c>STEDI_MOTO_ENDPOINT</c> when that variable is set (CI starts
/// moto itself), else <c>python3 -m moto.server -H 127.0.0.1 -p &lt;free port&gt;</c> started once on first use and
/// killed when the test process exits. Its stdin is a pipe whose closing also stops it, so a killed test host does
/// not leave moto behind. <c>STEDI_MOTO_PYTHON</c> overrides the interpreter (default <c>python3</c>).
/// </summary>
public static class MotoServer
{
    /// <summary>Name of the variable that points the tests at a running moto.</summary>
    public const string EndpointVariable = "STEDI_MOTO_ENDPOINT";

    private static readonly Lazy<Task<string>> Started = new(StartAsync);
    private static Process? _process;

    /// <summary>The endpoint URL, e.g. <c>http://127.0.0.1:40123</c>, once moto answers.</summary>
    public static Task<string> EndpointAsync() => Started.Value;

    private static async Task<string> StartAsync()
    {
        var given = Environment.GetEnvironmentVariable(EndpointVariable);
        if (!string.IsNullOrWhiteSpace(given))
        {
            var url = given.TrimEnd('/');
            await WaitReadyAsync(url, null);
            return url;
        }

        var port = FreePort();
        var python = Environment.GetEnvironmentVariable("STEDI_MOTO_PYTHON") ?? "python3";
        const string script =
            "import os, sys, threading\n" +
            "threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n" +
            "from moto.server import main\n" +
            "main(sys.argv[1:])\n";
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-c", script, "-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start moto");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
        var endpoint = $"http://127.0.0.1:{port}";
        await WaitReadyAsync(endpoint, process);
        return endpoint;
    }

    /// <summary>Kills the moto this run started (no-op for an external one).</summary>
    public static void Stop()
    {
        var p = Interlocked.Exchange(ref _process, null);
        if (p is null) return;
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        p.Dispose();
    }

    private static async Task WaitReadyAsync(string endpoint, Process? process)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process is { HasExited: true })
                throw new InvalidOperationException($"moto exited with code {process.ExitCode} before answering (is moto[server] installed?)");
            try
            {
                using var r = await http.GetAsync($"{endpoint}/moto-api/");
                if (r.StatusCode != HttpStatusCode.ServiceUnavailable) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"moto at {endpoint} did not answer within 60 s");
            await Task.Delay(100);
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
}
