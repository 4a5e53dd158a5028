using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Errors;

/// <summary>
/// The node asked does not serve the shard (any more): it answers with the descriptors it has for that
/// span, so the caller refreshes its cache and retries (CockroachDB's RangeKeyMismatch, TiKV's EpochNotMatch).
/// </summary>
public sealed class RangeMovedException(int shard, IReadOnlyList<RangeDescriptor> current)
    : StemeDbClusterException(
        $"Shard {shard} is not served here; current descriptors: " +
        string.Join("; ", current.Select(d => d.ToString())))
{
    public int Shard { get; } = shard;

    /// <summary>What the answering node knows covers the shard now; apply them to a router's cache.</summary>
    public IReadOnlyList<RangeDescriptor> Current { get; } = current;
}
