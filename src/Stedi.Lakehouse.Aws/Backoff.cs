namespace Stedi.Lakehouse.Aws;

/// <summary>Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").</summary>
internal static class Backoff
{
    /// <summary>A random delay in [0, min(cap, base * 2^attempt)): base 50 ms, cap 5 s.</summary>
    public static TimeSpan Delay(int attempt)
    {
        var ceilingMs = Math.Min(5000.0, 50.0 * Math.Pow(2, Math.Min(attempt, 10)));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceilingMs);
    }
}
