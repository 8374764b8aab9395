using Stedi.Lakehouse.Aws;

namespace Stedi.Functions.Tests;

/// <summary>
/// The moto server of this test run (<see cref="MotoProcess.SharedEndpointAsync"/>): the one at
/// <c>STEDI_MOTO_ENDPOINT</c> when set, else one started on first use and stopped when the test process exits.
/// </summary>
public static class Moto
{
    /// <summary>moto's URL once it answers.</summary>
    public static Task<string> EndpointAsync() => MotoProcess.SharedEndpointAsync();
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

/// <summary>
/// Tests that take minutes on two cores (the second profile's real-data end to end on moto) run only when
/// <c>STEDI_SLOW_TESTS=1</c>; the default suite keeps one profile's (strict) end to end with redelivery.
/// </summary>
public static class SlowTests
{
    /// <summary>Whether <c>STEDI_SLOW_TESTS=1</c>.</summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("STEDI_SLOW_TESTS") == "1";
}

/// <summary>A fact skipped unless <c>STEDI_SLOW_TESTS=1</c>.</summary>
public sealed class SlowFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless slow tests are enabled.</summary>
    public SlowFactAttribute()
    {
        if (!SlowTests.Enabled) Skip = "slow: set STEDI_SLOW_TESTS=1";
    }
}
