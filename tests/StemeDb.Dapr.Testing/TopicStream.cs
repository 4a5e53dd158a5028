namespace StemeDb.Dapr.Testing;

/// <summary>One stored message: its stream id, the envelope and the publish metadata (Redis fields <c>data</c>, <c>metadata</c>).</summary>
public sealed record StreamEntry(long Id, byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The retained stream of one (pubsub, topic), as Redis keeps it: every message stays until the publisher's
/// <c>maxLenApprox</c> trims the oldest, and consumer groups read it by id. Guarded by the broker's lock.
/// </summary>
// daprd: contrib pubsub/redis/redis.go Publish; contrib common/component/redis/settings.go GetMinID (never trimmed by default)
internal sealed class TopicStream
{
    private readonly List<StreamEntry> _entries = [];
    private long _lastId;

    public Dictionary<string, ConsumerGroup> Groups { get; } = [];

    public int Count => _entries.Count;

    /// <summary>
    /// XADD, trimmed to <paramref name="maxLen"/> when positive. Redis's <c>~</c> may keep a few more;
    /// trimming exactly is the strict end of what it allows.
    /// </summary>
    public StreamEntry Append(byte[] data, IReadOnlyDictionary<string, string> metadata, int maxLen)
    {
        var entry = new StreamEntry(++_lastId, data, metadata);
        _entries.Add(entry);
        if (maxLen > 0 && _entries.Count > maxLen)
        {
            _entries.RemoveRange(0, _entries.Count - maxLen);
        }

        return entry;
    }

    /// <summary>The first retained entry after <paramref name="id"/>: what XREADGROUP &gt; gives next.</summary>
    public StreamEntry? After(long id)
    {
        int low = 0;
        int high = _entries.Count;
        while (low < high)
        {
            int mid = (low + high) / 2;
            if (_entries[mid].Id <= id)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low < _entries.Count ? _entries[low] : null;
    }
}
