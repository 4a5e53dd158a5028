using System.Collections.Immutable;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Re-replication: keeps a range's live replicas in order and fills it up to
/// <see cref="ShardingConfig.ReplicationFactor"/> by rendezvous hashing (<see cref="ReplicaPlacement"/>), so
/// every node proposes the same replacement. The first check of a plan: availability before size.
/// </summary>
internal sealed class ReplicaCheck(ShardingConfig config)
{
    /// <summary>The replica change <paramref name="entry"/> needs, or null when its replicas are as they should be.</summary>
    public RangeChange? Check(MetaRangeEntry entry, IReadOnlySet<NodeId> live, NodeId proposer, HlcTimestamp now)
    {
        RangeDescriptor d = entry.Descriptor;
        ImmutableArray<NodeId> replicas = ReplicaPlacement.Choose(d.Id, d.Replicas, live, config.ReplicationFactor);
        if (replicas.SequenceEqual(d.Replicas))
        {
            return null;
        }

        var next = new RangeDescriptor(d.Id, d.StartShard, d.EndShard, replicas, d.Generation + 1, now, proposer);
        string reason = $"replicas [{string.Join(", ", d.Replicas)}] → [{string.Join(", ", replicas)}] (live members: {live.Count})";
        return new RangeChange(RangeChangeKind.Replicate, [entry], new MetaRangeUpdate(next), reason, "re_replication");
    }
}
