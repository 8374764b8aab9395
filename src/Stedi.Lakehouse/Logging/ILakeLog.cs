using System.Text.Json;

namespace Stedi.Lakehouse.Logging;

/// <summary>
/// Structured log of the pipeline: one JSON object per line (the form CloudWatch Logs Insights queries). Fields
/// never carry an email, name or phone (docs/ARCHITECTURE.md §8): the domain logs keys of objects, counts and reason codes.
/// </summary>
public interface ILakeLog
{
    /// <summary>Writes one event. <paramref name="level"/> is <c>info</c>, <c>warn</c> or <c>error</c>.</summary>
    void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields);
}

/// <summary>Helpers over <see cref="ILakeLog"/>.</summary>
public static class LakeLogExtensions
{
    /// <summary>Writes an info event.</summary>
    public static void Info(this ILakeLog log, string eventName, params (string Key, object? Value)[] fields) => log.Write("info", eventName, fields.ToDictionary(f => f.Key, f => f.Value));
    /// <summary>Writes a warning event.</summary>
    public static void Warn(this ILakeLog log, string eventName, params (string Key, object? Value)[] fields) => log.Write("warn", eventName, fields.ToDictionary(f => f.Key, f => f.Value));
    /// <summary>Writes an error event.</summary>
    public static void Error(this ILakeLog log, string eventName, params (string Key, object? Value)[] fields) => log.Write("error", eventName, fields.ToDictionary(f => f.Key, f => f.Value));
}

/// <summary>Discards every event.</summary>
public sealed class NullLakeLog : ILakeLog
{
    /// <summary>The shared instance.</summary>
    public static readonly NullLakeLog Instance = new();
    /// <inheritdoc />
    public void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields) { }
}

/// <summary>Writes JSON lines to a <see cref="TextWriter"/> (thread-safe), with a timestamp, level, event and the ambient request id.</summary>
public sealed class JsonLinesLakeLog(TextWriter writer, Func<string?>? requestId = null) : ILakeLog
{
    private readonly Lock _lock = new();

    /// <inheritdoc />
    public void Write(string level, string eventName, IReadOnlyDictionary<string, object?> fields)
    {
        var o = new Dictionary<string, object?>
        {
            ["time"] = DateTimeOffset.UtcNow.ToString("O"),
            ["level"] = level,
            ["event"] = eventName,
        };
        var rid = requestId?.Invoke();
        if (rid is not null) o["requestId"] = rid;
        foreach (var (k, v) in fields) o[k] = v;
        var line = JsonSerializer.Serialize(o, LogJson.Options);
        lock (_lock) writer.WriteLine(line);
    }
}

internal static class LogJson
{
    // Relaxed escaping: times keep their '+' and names their accents, so a log line reads and greps as written (still
    // valid JSON; quotes, backslashes and control characters are escaped).
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
