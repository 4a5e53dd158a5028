using System.Diagnostics;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A Redis consumer group on one stream, named by the component's consumerID. Created at the stream's
/// start (<c>XGROUP CREATE … 0 MKSTREAM</c>), so a new group replays everything retained; sidecars with the
/// same consumerID share it and compete for messages. Read entries stay pending until acked. Guarded by
/// the broker's lock.
/// </summary>
// daprd: contrib pubsub/redis/redis.go CreateConsumerGroup, reclaimPendingMessages
internal sealed class ConsumerGroup(string name, TopicStream stream)
{
    private readonly Dictionary<long, PendingEntry> _pending = [];
    private long _lastDelivered; // 0: from the stream's beginning
    private TaskCompletionSource _data = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => name;

    /// <summary>Sidecars reading the group now.</summary>
    public int Consumers { get; set; }

    public int Pending => _pending.Count;

    /// <summary>Nothing left to read and nothing unacknowledged.</summary>
    public bool Drained => _pending.Count == 0 && stream.After(_lastDelivered) is null;

    /// <summary>XREADGROUP &gt;: the next entry no consumer of the group has read, now pending; else null and a task that completes on the next publish.</summary>
    public StreamEntry? ReadNew(out Task? published)
    {
        if (stream.After(_lastDelivered) is not { } entry)
        {
            published = _data.Task;
            return null;
        }

        published = null;
        _lastDelivered = entry.Id;
        _pending[entry.Id] = new PendingEntry(entry, Stopwatch.GetTimestamp());
        return entry;
    }

    /// <summary>XPENDING + XCLAIM: entries pending at least <paramref name="processingTimeout"/>, their idle time reset.</summary>
    public List<StreamEntry> ClaimStale(TimeSpan processingTimeout)
    {
        long now = Stopwatch.GetTimestamp();
        var claimed = new List<StreamEntry>();
        foreach (PendingEntry pending in _pending.Values)
        {
            if (Stopwatch.GetElapsedTime(pending.DeliveredAt, now) >= processingTimeout)
            {
                pending.DeliveredAt = now;
                claimed.Add(pending.Entry);
            }
        }

        return claimed;
    }

    /// <summary>XACK: no-op when another delivery of the same entry acked it first.</summary>
    public void Ack(long id) => _pending.Remove(id);

    /// <summary>Wakes the readers after a publish.</summary>
    public void Signal()
    {
        TaskCompletionSource data = _data;
        _data = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        data.TrySetResult();
    }

    private sealed class PendingEntry(StreamEntry entry, long deliveredAt)
    {
        public StreamEntry Entry => entry;

        public long DeliveredAt { get; set; } = deliveredAt;
    }
}
