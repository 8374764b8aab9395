using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>A worker run of an <see cref="InProcessWorkQueue"/> that threw; the worker's exception is the inner exception.</summary>
/// <param name="work">The work that failed.</param>
/// <param name="inner">What the worker threw.</param>
public sealed class WorkFailedException(RefreshWork work, Exception inner)
    : Exception($"refresh of {work.GroupId} failed: {inner.Message}", inner)
{
    /// <summary>The work that failed.</summary>
    public RefreshWork Work { get; } = work;
}
