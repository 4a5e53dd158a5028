using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Errors;

/// <summary>Every replica of the range that holds a shard is dead or gone (503, not a client mistake).</summary>
public sealed class NoLiveReplicaException(int shard, RangeDescriptor range)
    : StemeDbClusterException(
        $"No live replica for shard {shard}: range {range.Id} [{range.StartShard}, {range.EndShard}) " +
        $"generation {range.Generation} has replicas {string.Join(", ", range.Replicas)}, none of them alive.")
{
    public int Shard { get; } = shard;

    public RangeDescriptor Range { get; } = range;
}
