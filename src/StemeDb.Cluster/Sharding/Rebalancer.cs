using System.Collections.Immutable;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// After a join (or any imbalance), moves single replicas from the most loaded live member to the least
/// loaded until replica counts differ by at most one. Each move replaces one replica of one range, the
/// first free range in shard order, so every node computes the same moves and as few as possible:
/// a range whose replicas already balance is never touched.
/// </summary>
internal static class Rebalancer
{
    /// <summary>
    /// The next move, or null when the counts differ by at most one or no range that is not
    /// <paramref name="busy"/> holds the most loaded member without the least loaded one.
    /// </summary>
    public static RangeChange? Next(
        ImmutableArray<MetaRangeEntry> entries,
        ReplicaCounts counts,
        ReadOnlySpan<bool> busy,
        NodeId proposer,
        HlcTimestamp now)
    {
        if (counts.Spread <= 1)
        {
            return null;
        }

        NodeId most = counts.Most;
        NodeId least = counts.Least;
        for (int j = 0; j < entries.Length; j++)
        {
            RangeDescriptor from = entries[j].Descriptor;
            if (!busy[j] && !entries[j].IsClipped && from.Replicas.Contains(most) && !from.Replicas.Contains(least))
            {
                ImmutableArray<NodeId> replicas = from.Replicas.Replace(most, least);
                var next = new RangeDescriptor(from.Id, from.StartShard, from.EndShard, replicas, from.Generation + 1, now, proposer);
                string reason = $"rebalance: a replica of {from.Id} moves from {most} ({counts[most]} replicas) to {least} ({counts[least]})";
                return new RangeChange(RangeChangeKind.Replicate, [entries[j]], new MetaRangeUpdate(next), reason, "rebalance");
            }
        }

        return null;
    }
}
