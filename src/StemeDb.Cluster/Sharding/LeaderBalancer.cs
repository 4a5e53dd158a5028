using System.Collections.Immutable;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Moves the leadership of ranges (a reorder of the replica list: the new leader first, the others in the
/// order they had; metadata only), so that no node serves more than its share.
/// <list type="bullet">
/// <item>By load first: a node whose request rate is above 1.10 × the mean and more than 100 req/s above
/// it hands its hottest range whose rate is at most half the gap to its least loaded live replica, one
/// range per plan (CockroachDB's store rebalancer: overfull at 10 % above the mean, with a floor).</item>
/// <item>Then by count: while a range's leader leads at least two more ranges than one of its live
/// replicas, the lead moves there, the coldest such range first. Each move lowers the sum of the squared
/// counts, so the moves end, with every leader within one of its replicas.</item>
/// </list>
/// A range whose descriptor changed less than <see cref="Configuration.ShardingConfig.LeaderMoveCooldown"/>
/// ago (a leader move among others) is left alone, so the two rules never undo each other and leadership
/// does not ping-pong.
/// </summary>
internal sealed class LeaderBalancer(Configuration.ShardingConfig config)
{
    public const double HotRatio = 1.10;
    public const double HotFloor = 100;

    /// <summary>The load move of the planning node, or null when it is not hot or nothing fits.</summary>
    public RangeChange? ByLoad(
        ImmutableArray<MetaRangeEntry> entries,
        LeaderCounts counts,
        ReadOnlySpan<bool> busy,
        IReadOnlySet<NodeId> live,
        LoadView load,
        Func<RangeDescriptor, TimeSpan> age,
        NodeId proposer,
        HlcTimestamp now)
    {
        double mean = load.MeanNodeRate;
        double source = load.RateOf(proposer);
        if (source <= mean * HotRatio || source <= mean + HotFloor)
        {
            return null;
        }

        int pick = -1;
        NodeId target = default;
        double pickRate = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            MetaRangeEntry entry = entries[i];
            RangeDescriptor d = entry.Descriptor;
            if (busy[i] || entry.IsClipped || LeaderCounts.LeaderOf(d, live) != proposer || age(d) < config.LeaderMoveCooldown)
            {
                continue;
            }

            // The least loaded live replica, and what moving this range's load there would do.
            NodeId? best = d.Replicas.Where(r => r != proposer && live.Contains(r)).OrderBy(load.RateOf).ThenBy(r => r).Cast<NodeId?>().FirstOrDefault();
            double rate = load.Shards.Of(entry.StartShard, entry.EndShard);
            if (best is not { } candidate || rate <= 0 || rate > (source - load.RateOf(candidate)) / 2 || rate < source * 0.02)
            {
                continue; // nowhere to go, too hot to move without making the target the hot one, or too cold to matter
            }

            if (rate > pickRate)
            {
                pick = i;
                pickRate = rate;
                target = candidate;
            }
        }

        if (pick < 0)
        {
            return null;
        }

        counts.Move(proposer, target);
        string reason = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"load: {proposer} serves {source:F0} req/s against a mean of {mean:F0}; range {entries[pick].Descriptor.Id} ({pickRate:F0} req/s) is led by {target} ({load.RateOf(target):F0} req/s) from now");
        return Reorder(entries[pick], target, now, proposer, reason, "leader_load");
    }

    /// <summary>The next count move, or null when every leader is within one of each of its live replicas.</summary>
    public RangeChange? ByCount(
        ImmutableArray<MetaRangeEntry> entries,
        LeaderCounts counts,
        ReadOnlySpan<bool> busy,
        IReadOnlySet<NodeId> live,
        LoadView? load,
        Func<RangeDescriptor, TimeSpan> age,
        NodeId proposer,
        HlcTimestamp now)
    {
        int pick = -1;
        NodeId target = default;
        double pickRate = double.MaxValue;
        for (int i = 0; i < entries.Length; i++)
        {
            MetaRangeEntry entry = entries[i];
            RangeDescriptor d = entry.Descriptor;
            if (busy[i] || entry.IsClipped || LeaderCounts.LeaderOf(d, live) is not { } leader || age(d) < config.LeaderMoveCooldown)
            {
                continue;
            }

            NodeId? fewest = d.Replicas.Where(r => r != leader && live.Contains(r)).OrderBy(r => counts[r]).ThenBy(r => r).Cast<NodeId?>().FirstOrDefault();
            if (fewest is not { } candidate || counts[leader] < counts[candidate] + 2)
            {
                continue;
            }

            // The coldest range that qualifies moves first: it shifts the fewest requests.
            double rate = load?.Shards.Of(entry.StartShard, entry.EndShard) ?? 0;
            if (rate < pickRate)
            {
                pick = i;
                pickRate = rate;
                target = candidate;
            }
        }

        if (pick < 0)
        {
            return null;
        }

        NodeId from = LeaderCounts.LeaderOf(entries[pick].Descriptor, live)!.Value;
        string reason = $"count: {from} leads {counts[from]} ranges, {target} {counts[target]}; range {entries[pick].Descriptor.Id} is led by {target} from now";
        counts.Move(from, target);
        return Reorder(entries[pick], target, now, proposer, reason, "leader_count");
    }

    private static RangeChange Reorder(MetaRangeEntry entry, NodeId leader, HlcTimestamp now, NodeId proposer, string reason, string cause)
    {
        RangeDescriptor d = entry.Descriptor;
        ImmutableArray<NodeId> replicas = [leader, .. d.Replicas.Where(r => r != leader)];
        var next = new RangeDescriptor(d.Id, d.StartShard, d.EndShard, replicas, d.Generation + 1, now, proposer);
        return new RangeChange(RangeChangeKind.Reorder, [entry], new MetaRangeUpdate(next), reason, cause);
    }
}
