using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Splits a range above <see cref="ShardingConfig.SplitThresholdBytes"/> that has at least two shards (a
/// shard is the smallest unit a range holds), at the shard boundary nearest its size median. Both halves
/// keep the replicas and get generation + 1; the left keeps the id and the right's is derived from it, so
/// every node proposes the same split.
/// </summary>
internal sealed class SplitCheck(ShardingConfig config)
{
    /// <summary>The split of <paramref name="entry"/>, or null when it is small enough or a single shard.</summary>
    public RangeChange? Check(MetaRangeEntry entry, ShardSizes sizes, NodeId proposer, HlcTimestamp now)
    {
        long size = sizes.Of(entry.StartShard, entry.EndShard);
        if (size <= config.SplitThresholdBytes || entry.ShardCount < 2)
        {
            return null;
        }

        RangeDescriptor d = entry.Descriptor;
        int at = sizes.MedianBoundary(entry.StartShard, entry.EndShard);
        long gen = d.Generation + 1;
        var left = new RangeDescriptor(d.Id, d.StartShard, at, d.Replicas, gen, now, proposer);
        var right = new RangeDescriptor(RangeId.Derive(d.Id, gen, at), at, d.EndShard, d.Replicas, gen, now, proposer);
        string reason = $"{size} bytes > split threshold {config.SplitThresholdBytes}; split at shard {at} " +
            $"({sizes.Of(d.StartShard, at)} + {sizes.Of(at, d.EndShard)} bytes)";
        return new RangeChange(RangeChangeKind.Split, [entry], new MetaRangeUpdate(left, right), reason, "size");
    }
}
