using System.Collections.Concurrent;
using System.Diagnostics;

namespace StemeDb.Containers.Tests;

/// <summary>
/// The operations of one workload as they completed, each stamped on one monotonic clock started with
/// the history, so that "began after that acknowledgement" compares two readings of the same clock.
/// Safe to add to from many requests at once.
/// </summary>
public sealed class History
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<Operation> _operations = new();

    /// <summary>The time since the history began.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public void Add(Operation operation) => _operations.Enqueue(operation);

    /// <summary>Everything recorded so far, in order of start.</summary>
    public IReadOnlyList<Operation> Operations => [.. _operations.OrderBy(o => o.Start)];
}
