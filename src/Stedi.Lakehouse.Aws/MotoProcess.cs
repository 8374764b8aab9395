using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// The one moto launcher of the repository (the CLI's <c>stedi emulate</c> and every test project use it): a moto
/// server (<c>python3 -m moto.server -H 127.0.0.1 -p &lt;free port&gt;</c>) started by this process and stopped on
/// dispose, or the one at <c>STEDI_MOTO_ENDPOINT</c>, reused.
/// </summary>
/// <remarks>
/// <para>Moto runs behind a small Python launcher that exits when its stdin closes, so a killed host does not leave
/// moto behind. <c>STEDI_MOTO_PYTHON</c> overrides the interpreter (default <c>python3</c>); moto 5 is expected
/// (<c>pip install "moto[server]"</c>).</para>
/// <para>The launcher makes one change to moto, for speed only: moto answers a DynamoDB Query on the base table by
/// sorting every item of the table and then keeping the partition's, so each Query costs time proportional to the
/// table (about 0.3 s at 10,000 items). The launcher gives that Query the partition's items only; moto's own code
/// still orders, pages, filters and projects them, so the answers are the same. Queries of an index, and moto
/// versions whose <c>Table.query</c> does not have the expected shape, are left alone (a line on stderr says so).</para>
/// </remarks>
public sealed class MotoProcess : IAsyncDisposable
{
    /// <summary>The variable naming a running moto to reuse, e.g. <c>http://127.0.0.1:5000</c>.</summary>
    public const string EndpointVariable = "STEDI_MOTO_ENDPOINT";

    /// <summary>The variable naming the Python interpreter (default <c>python3</c>).</summary>
    public const string PythonVariable = "STEDI_MOTO_PYTHON";

    private static readonly Lazy<Task<MotoProcess>> Shared = new(async () =>
    {
        var moto = await StartOrReuseAsync().ConfigureAwait(false);
        if (moto.Started) AppDomain.CurrentDomain.ProcessExit += (_, _) => moto.DisposeAsync().AsTask().Wait(5000);
        return moto;
    });
    private readonly Process? _process;

    private MotoProcess(Process? process, string endpoint) => (_process, Endpoint) = (process, endpoint);

    /// <summary>The endpoint, e.g. <c>http://127.0.0.1:40123</c> (no trailing slash).</summary>
    public string Endpoint { get; }

    /// <summary>Whether this process started the server (and disposing stops it); false for a reused one.</summary>
    public bool Started => _process is not null;

    /// <summary>Starts moto on a free port and waits until it answers.</summary>
    /// <param name="timeout">How long to wait for the first answer (default 60 s).</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="InvalidOperationException">Python or moto is missing (moto exited before answering).</exception>
    /// <exception cref="TimeoutException">Moto did not answer in time.</exception>
    public static async Task<MotoProcess> StartAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable(PythonVariable) ?? "python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-c", Launcher, "-H", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"could not start {psi.FileName}: {e.Message} (install Python 3 and moto[server])", e); }
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { lock (stderr) if (stderr.Length < 4000) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var moto = new MotoProcess(process, $"http://127.0.0.1:{port}");
        try
        {
            await WaitReadyAsync(moto.Endpoint, process, timeout ?? TimeSpan.FromSeconds(60), () => { lock (stderr) return stderr.ToString(); }, ct).ConfigureAwait(false);
        }
        catch
        {
            await moto.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return moto;
    }

    /// <summary>The moto at <c>STEDI_MOTO_ENDPOINT</c> when that is set (after it answers; disposing leaves it running),
    /// else a new one as <see cref="StartAsync"/> starts it.</summary>
    /// <inheritdoc cref="StartAsync" path="/param"/>
    /// <exception cref="InvalidOperationException">Python or moto is missing.</exception>
    /// <exception cref="TimeoutException">Moto did not answer in time.</exception>
    public static async Task<MotoProcess> StartOrReuseAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var given = Environment.GetEnvironmentVariable(EndpointVariable);
        if (string.IsNullOrWhiteSpace(given)) return await StartAsync(timeout, ct).ConfigureAwait(false);
        var endpoint = given.Trim().TrimEnd('/');
        await WaitReadyAsync(endpoint, timeout ?? TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        return new MotoProcess(null, endpoint);
    }

    /// <summary>
    /// The endpoint of this process's shared moto, for test fixtures: the first call starts one
    /// (<see cref="StartOrReuseAsync"/>) and every later call gets the same; a server this process started is stopped
    /// when the process exits.
    /// </summary>
    public static async Task<string> SharedEndpointAsync() => (await Shared.Value.ConfigureAwait(false)).Endpoint;

    /// <summary>Waits until a moto endpoint answers <c>/moto-api/</c>.</summary>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public static Task WaitReadyAsync(string endpoint, TimeSpan timeout, CancellationToken ct = default) =>
        WaitReadyAsync(endpoint, null, timeout, () => "", ct);

    /// <summary>Stops moto if this process started it (closing its stdin, then killing it if it still runs after 3 s).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                try { _process.StandardInput.Close(); } catch (IOException) { }
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try { await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync().ConfigureAwait(false); }
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

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
                using var r = await http.GetAsync($"{endpoint.TrimEnd('/')}/moto-api/", ct).ConfigureAwait(false);
                if (r.StatusCode != HttpStatusCode.ServiceUnavailable) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"moto at {endpoint} did not answer within {timeout.TotalSeconds:0} s");
            await Task.Delay(100, ct).ConfigureAwait(false);
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

    /// <summary>The Python launcher: exit when stdin closes, give base-table Queries one partition, run moto's server.</summary>
    internal const string Launcher = """
        import os, sys, threading
        threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()

        def one_partition_queries():
            # moto's Table.query starts from Table.all_items(), which sorts the whole table; a base-table Query only
            # needs the items of its hash key. The original code still filters, orders, pages and projects them.
            import inspect
            from moto.dynamodb.models.table import Table
            original = Table.query
            signature = inspect.signature(original)
            if "index_name" not in signature.parameters or "hash_key" not in signature.parameters:
                return "Table.query has another shape"

            class OnePartition:
                def __init__(self, table, items):
                    self.__dict__["_table"] = table
                    self.__dict__["_items"] = items

                def __getattr__(self, name):
                    return getattr(self.__dict__["_table"], name)

                def all_items(self):
                    return list(self.__dict__["_items"])

            def query(self, *args, **kwargs):
                arguments = signature.bind(self, *args, **kwargs).arguments
                hash_key = arguments.get("hash_key")
                if arguments.get("index_name") or hash_key is None:
                    return original(self, *args, **kwargs)
                partition = self.items.get(hash_key)
                if partition is None:
                    items = []
                elif self.range_key_attr:
                    items = list(partition.values())
                else:
                    items = [partition]
                return original(OnePartition(self, items), *args, **kwargs)

            Table.query = query
            return None

        def plain_json_reads():
            # moto serialises every response through a generic, model-driven serializer (about 1 ms per returned item);
            # the results of DynamoDB's item reads are already in DynamoDB's JSON shape and are written as they are
            # (binary values base64-encoded, absent members left out, as the serializer does).
            import base64, json
            from moto.dynamodb.responses import DynamoResult
            original = DynamoResult.execute_result
            reads = {"Query", "Scan", "GetItem", "BatchGetItem"}

            def plain(value):
                if isinstance(value, dict):
                    return {k: plain(v) for k, v in value.items() if v is not None}
                if isinstance(value, (list, tuple)):
                    return [plain(v) for v in value]
                if isinstance(value, (bytes, bytearray)):
                    return base64.b64encode(value).decode("ascii")
                return value

            def execute_result(self, context):
                if context.operation_model.name not in reads or not isinstance(self.result, dict):
                    return original(self, context)
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(plain(self.result), separators=(",", ":"))

            DynamoResult.execute_result = execute_result
            return None

        for patch in (one_partition_queries, plain_json_reads):
            try:
                problem = patch()
            except Exception as e:
                problem = repr(e)
            if problem:
                print("stedi moto launcher: " + patch.__name__ + " not applied (" + problem + ")", file=sys.stderr, flush=True)

        from moto.server import main
        main(sys.argv[1:])
        """;
}
