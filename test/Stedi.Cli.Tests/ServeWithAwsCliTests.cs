using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Stedi.Cli.Tests;

/// <summary>
/// Issue 11: <c>stedi emulate --serve</c> driven by the AWS CLI a data engineer already uses. The served deployment is a
/// child process; the landing files are uploaded one by one with <c>aws --endpoint-url … s3 cp</c>; the test waits until
/// the server reports the queues idle with every object ingested and checks every queue is empty with
/// <c>aws sqs get-queue-attributes</c>; then <c>stedi query --endpoint … --bucket …</c> answers with the tables' counts.
/// The whole real data set: about two minutes on moto here (2 cores shared), most of it moto.
/// </summary>
public sealed class ServeWithAwsCliTests
{
    private const string CountsSql =
        "SELECT (SELECT count(*) FROM customer_trusted) AS customer_trusted, (SELECT count(*) FROM accelerometer_trusted) AS accelerometer_trusted, " +
        "(SELECT count(*) FROM customer_curated) AS customer_curated, (SELECT count(*) FROM step_trainer_trusted) AS step_trainer_trusted, " +
        "(SELECT count(*) FROM machine_learning_curated) AS machine_learning_curated";

    private const string CountsHeader = "customer_trusted,accelerometer_trusted,customer_curated,step_trainer_trusted,machine_learning_curated\n";

    [Fact]
    public async Task The_real_data_uploaded_file_by_file_with_the_AWS_CLI_gives_the_strict_counts_and_query_answers_from_the_bucket()
    {
        using var tmp = new TempFolder();
        await using var served = await ServeUploadAndWaitAsync(Repo.Landing);

        var counts = Stedi.Run("query", "--endpoint", served.Endpoint, "--bucket", served.Bucket, "--format", "csv", CountsSql);
        Assert.True(counts.ExitCode == 0, counts.ToString());
        Assert.Equal(CountsHeader + "482,32025,464,11297,32025\n", counts.Stdout);

        // The same output as a local run of the same files, format for format.
        var lake = tmp.File("lake");
        var local = Stedi.Run("run", "--landing", Repo.Landing, "--lake", lake);
        Assert.True(local.ExitCode == 0, local.ToString());
        foreach (var (format, sql) in new[]
                 {
                     ("json", "SELECT * FROM customer_curated ORDER BY ALL"),
                     ("csv", "SELECT * FROM machine_learning_curated ORDER BY ALL"),
                     ("markdown", "SELECT reading_hour, count(*) AS n, min(sensorReadingTime) AS first FROM step_trainer_trusted GROUP BY ALL ORDER BY ALL"),
                 })
        {
            var remote = Stedi.Run("query", "--endpoint", served.Endpoint, "--bucket", served.Bucket, "--format", format, "--max-rows", "0", sql);
            var mine = Stedi.Run("query", "--lake", lake, "--format", format, "--max-rows", "0", sql);
            Assert.True(remote.ExitCode == 0, remote.ToString());
            Assert.Equal(mine.Stdout, remote.Stdout);
        }

        var missing = Stedi.Run("query", "--endpoint", served.Endpoint, "--bucket", "no-such-bucket", "SELECT count(*) FROM customer_trusted");
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal($"error: no bucket no-such-bucket at {served.Endpoint}: pass the lake bucket's name (stedi emulate --serve prints it; on AWS it is the " +
                     "Storage stack's LakeBucketName output)\n", missing.Stderr);

        var stopped = await served.StopAsync();
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.Contains("dead-letter queues: empty", stopped.Stdout);
        Assert.Contains("SIGTERM: stopping after the invocations in flight (SIGTERM again stops at once)", stopped.Stderr);
    }

    [Fact]
    public void Query_of_a_bucket_says_what_is_missing()
    {
        var noBucket = Stedi.Run("query", "--endpoint", "http://127.0.0.1:1", "SELECT 1");
        Assert.Equal(2, noBucket.ExitCode);
        Assert.StartsWith("error: --endpoint needs --bucket NAME, the lake bucket (stedi emulate --serve prints both); stedi query --help lists its options\n", noBucket.Stderr);
        var nothing = Stedi.Run("query", "--endpoint", "http://127.0.0.1:1", "--bucket", "lake", "SELECT count(*) FROM customer_trusted");
        Assert.Equal(2, nothing.ExitCode);
        Assert.Equal("error: nothing answers at http://127.0.0.1:1 (Connection refused): start an emulated deployment with stedi emulate --serve, " +
                     "which prints its endpoint and bucket\n", nothing.Stderr);
        var serveMissing = Stedi.Run("emulate", "--serve", "--landing", "no/such/folder");
        Assert.Equal(2, serveMissing.ExitCode);
        Assert.StartsWith("error: landing folder not found: no/such/folder (run from the repository root, or pass --landing); stedi emulate --help lists its options\n", serveMissing.Stderr);
    }

    [Fact]
    public void A_bucket_query_copies_the_tables_its_SQL_names()
    {
        Assert.True(BucketCopy.Names("select count(*) from Customer_Trusted", "customer_trusted"));
        Assert.True(BucketCopy.Names("SELECT * FROM \"machine_learning_curated\"", "machine_learning_curated"));
        Assert.False(BucketCopy.Names("SELECT * FROM customer_trusted_old", "customer_trusted"));
        Assert.False(BucketCopy.Names("SELECT * FROM customer_curated", "customer_trusted"));
        Assert.True(BucketCopy.Names("SELECT reason FROM quarantine", "quarantine"));
    }

    /// <summary>Starts the server, uploads every file under <paramref name="landing"/> with the AWS CLI, and waits until the queues are empty.</summary>
    private static async Task<ServedEmulation> ServeUploadAndWaitAsync(string landing)
    {
        var served = await ServedEmulation.StartAsync();
        try
        {
            // Customers first, as a data engineer would load them (any order gives the same tables; this one recomputes least).
            var sources = new[] { "customer", "accelerometer", "step_trainer" };
            var files = Directory.GetFiles(landing, "*.json", SearchOption.AllDirectories)
                .OrderBy(f => Array.IndexOf(sources, Path.GetFileName(Path.GetDirectoryName(f)))).ThenBy(f => f, StringComparer.Ordinal).ToList();
            foreach (var file in files)
            {
                var source = Path.GetFileName(Path.GetDirectoryName(file)!);
                var cp = AwsCli.Run("--endpoint-url", served.Endpoint, "s3", "cp", file, $"s3://{served.Bucket}/{source}/landing/");
                Assert.True(cp.ExitCode == 0, cp.ToString());
                Assert.Contains($" to s3://{served.Bucket}/{source}/landing/{Path.GetFileName(file)}\n", cp.Stdout.Replace("\r", "\n"));
            }
            // The server says when the queues went idle; every object must have been ingested by then.
            var idle = await served.WaitForLineAsync(l => l.Contains($" idle: ingested {files.Count} objects (0 failed)"), TimeSpan.FromMinutes(15));
            Assert.Contains("; dead letters 0; ", idle);

            // And SQS agrees: every queue of the deployment, DLQs included, holds nothing.
            var list = AwsCli.Run("--endpoint-url", served.Endpoint, "sqs", "list-queues", "--queue-name-prefix", served.Bucket);
            Assert.True(list.ExitCode == 0, list.ToString());
            var urls = JsonDocument.Parse(list.Stdout).RootElement.GetProperty("QueueUrls").EnumerateArray().Select(u => u.GetString()!).Order().ToList();
            Assert.Equal(8, urls.Count); // three landing queues and the FIFO refresh queue, each with its DLQ
            var attributes = await Task.WhenAll(urls.Select(url => Task.Run(() => AwsCli.Run("--endpoint-url", served.Endpoint, "sqs", "get-queue-attributes",
                "--queue-url", url, "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))));
            foreach (var (url, a) in urls.Zip(attributes))
            {
                Assert.True(a.ExitCode == 0, a.ToString());
                var values = JsonDocument.Parse(a.Stdout).RootElement.GetProperty("Attributes");
                Assert.Equal(("0", "0"), (values.GetProperty("ApproximateNumberOfMessages").GetString(), values.GetProperty("ApproximateNumberOfMessagesNotVisible").GetString()));
            }
            return served;
        }
        catch
        {
            await served.DisposeAsync();
            throw;
        }
    }
}

/// <summary>The AWS CLI (awscli 1.x, <c>aws</c> on the PATH) with moto's credentials.</summary>
public static class AwsCli
{
    public static StediResult Run(params string[] args)
    {
        var psi = new ProcessStartInfo("aws") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["AWS_ACCESS_KEY_ID"] = "test";
        psi.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        psi.Environment["AWS_DEFAULT_REGION"] = "us-east-1";
        psi.Environment["AWS_PAGER"] = "";
        foreach (var name in new[] { "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE" }) psi.Environment.Remove(name);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"aws {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new StediResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary><c>stedi emulate --serve</c> as a child process, its standard output read line by line.</summary>
public sealed class ServedEmulation : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _newLine = new(0);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServedEmulation(Process process) => _process = process;

    public string Bucket { get; private set; } = "";
    public string Endpoint { get; private set; } = "";

    /// <summary>Starts the server (on the moto at STEDI_MOTO_ENDPOINT when set, else on its own) and waits for its ready line and variables.</summary>
    public static async Task<ServedEmulation> StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Repo.Root, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { Stedi.Dll, "emulate", "--serve" }) psi.ArgumentList.Add(a);
        if (Environment.GetEnvironmentVariable("STEDI_MOTO_ENDPOINT") is { Length: > 0 } moto) { psi.ArgumentList.Add("--endpoint"); psi.ArgumentList.Add(moto); }
        foreach (var name in new[] { "STEDI_PROFILE", "STEDI_LAKE_BUCKET", "STEDI_ENDPOINT_URL" }) psi.Environment.Remove(name);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var served = new ServedEmulation(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (served._lines) served._lines.Add(e.Data);
            served._newLine.Release();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (served._stderr) served._stderr.AppendLine(e.Data); };
        process.Exited += (_, _) => { served._exited.TrySetResult(); served._newLine.Release(); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var ready = await served.WaitForLineAsync(l => l.StartsWith("ready: ", StringComparison.Ordinal), TimeSpan.FromMinutes(3));
            var m = System.Text.RegularExpressions.Regex.Match(ready, @"^ready: bucket=(\S+) endpoint=(http://\S+)$");
            Assert.True(m.Success, ready);
            (served.Bucket, served.Endpoint) = (m.Groups[1].Value, m.Groups[2].Value);
            // Then the functions' variables, one per line.
            var variables = await served.WaitForLineAsync(l => l.StartsWith("STEDI_MAX_OBJECT_BYTES=", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            List<string> lines;
            lock (served._lines) lines = [.. served._lines];
            var env = lines.SkipWhile(l => l != ready).Skip(1).TakeWhile(l => l.StartsWith("STEDI_", StringComparison.Ordinal))
                .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(served.Bucket, env["STEDI_LAKE_BUCKET"]);
            Assert.Equal(served.Endpoint, env["STEDI_ENDPOINT_URL"]);
            Assert.Equal("strict", env["STEDI_PROFILE"]);
            Assert.Equal($"{served.Endpoint}/123456789012/{served.Bucket}-refresh.fifo", env["STEDI_REFRESH_QUEUE_URL"]);
            Assert.Equal(new[] { "STEDI_CUSTOMER_KEY_SECRET_ID", "STEDI_ENDPOINT_URL", "STEDI_GLUE_DATABASE", "STEDI_INDEX_TABLE", "STEDI_LAKE_BUCKET",
                "STEDI_MAX_OBJECT_BYTES", "STEDI_PROFILE", "STEDI_REFRESH_QUEUE_URL" }, env.Keys.Order(StringComparer.Ordinal));
            _ = variables;
            return served;
        }
        catch
        {
            await served.DisposeAsync();
            throw;
        }
    }

    /// <summary>The first standard output line (already printed or to come) that matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_lines)
                if (_lines.FirstOrDefault(match) is { } line) return line;
            if (_exited.Task.IsCompleted)
                throw new InvalidOperationException($"stedi emulate --serve exited with {_process.ExitCode} before the line came:\n{Output()}");
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"the line did not come in {timeout.TotalSeconds:0} s:\n{Output()}");
            await _newLine.WaitAsync(left < TimeSpan.FromSeconds(5) ? left : TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>Sends SIGTERM (as a service manager would) and waits for the exit.</summary>
    public async Task<StediResult> StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
        using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await _exited.Task.WaitAsync(wait.Token);
        await _process.WaitForExitAsync();
        lock (_lines) lock (_stderr) return new StediResult(_process.ExitCode, string.Join('\n', _lines) + "\n", _stderr.ToString());
    }

    private string Output()
    {
        lock (_lines) lock (_stderr) return $"--- stdout\n{string.Join('\n', _lines)}\n--- stderr\n{_stderr}";
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
