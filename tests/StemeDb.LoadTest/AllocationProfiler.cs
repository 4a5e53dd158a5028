using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace StemeDb.LoadTest;

/// <summary>
/// Samples this process's allocations by type from the runtime's own GC AllocationTick events (one about
/// every 100 KB allocated), to see what a request allocates without an external profiler.
/// </summary>
public sealed class AllocationProfiler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _on;

    public void Start() => _on = true;

    public IReadOnlyList<(string Type, double Share)> Stop(int top)
    {
        _on = false;
        long total = Math.Max(1, _bytes.Values.Sum());
        return [.. _bytes.OrderByDescending(kv => kv.Value).Take(top).Select(kv => (kv.Key, (double)kv.Value / total))];
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_on || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        int type = e.PayloadNames.IndexOf("TypeName");
        int amount = e.PayloadNames.IndexOf("AllocationAmount64");
        if (type >= 0 && amount >= 0 && e.Payload![type] is string name && e.Payload[amount] is ulong bytes)
        {
            _bytes.AddOrUpdate(name, (long)bytes, (_, v) => v + (long)bytes);
        }
    }
}
