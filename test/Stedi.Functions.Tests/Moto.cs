namespace Stedi.Functions.Tests;

/// <summary>
/// The moto server of this test run: the one at <c>STEDI_MOTO_ENDPOINT</c> when set (scripts/test.sh starts one),
/// else one started on first use (<see cref="MotoProcess"/>) and stopped when the test process exits.
/// </summary>
public static class Moto
{
    private static readonly Lazy<Task<string>> Started = new(StartAsync);
    private static MotoProcess? _process;

    /// <summary>moto's URL once it answers.</summary>
    public static Task<string> EndpointAsync() => Started.Value;

    private static async Task<string> StartAsync()
    {
        var given = Environment.GetEnvironmentVariable("STEDI_MOTO_ENDPOINT");
        if (!string.IsNullOrWhiteSpace(given))
        {
            await MotoProcess.WaitReadyAsync(given.TrimEnd('/'), TimeSpan.FromSeconds(60));
            return given.TrimEnd('/');
        }
        _process = await MotoProcess.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => _process?.DisposeAsync().AsTask().Wait(5000);
        return _process.Endpoint;
    }
}

/// <summary>Paths in the repository.</summary>
public static class Repo
{
    /// <summary>The repository root (the folder of StediServerless.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The real landing data.</summary>
    public static string Landing => Path.Combine(Root, "data", "stedi", "landing");

    /// <summary>A sample event of events/.</summary>
    public static string Event(string name) => File.ReadAllText(Path.Combine(Root, "events", name));

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "StediServerless.sln"))) return d.FullName;
        throw new InvalidOperationException("StediServerless.sln not found above " + AppContext.BaseDirectory);
    }
}
