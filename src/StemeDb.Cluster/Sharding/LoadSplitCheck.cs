using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Splits a range whose request rate over the whole measuring window reached
/// <see cref="ShardingConfig.SplitRequestRate"/> at the shard boundary that best balances the measured
/// load, when that boundary leaves the two sides within 25 % of each other and no single shard carries
/// more than half the load (a hot shard cannot be split: splitting around it would only move it). At most
/// once a minute per range: a split's halves are fresh descriptors, and a fresh descriptor is left alone.
/// </summary>
internal sealed class LoadSplitCheck(ShardingConfig config)
{
    public const double MaxImbalance = 0.25;
    public const double MaxHottestShare = 0.5;
    public static readonly TimeSpan MinimumAge = TimeSpan.FromMinutes(1);

    /// <summary>The load split of <paramref name="entry"/>, or null.</summary>
    public RangeChange? Check(MetaRangeEntry entry, ShardLoad load, Func<RangeDescriptor, TimeSpan> age, NodeId proposer, HlcTimestamp now)
    {
        double rate = load.Of(entry.StartShard, entry.EndShard);
        if (rate < config.SplitRequestRate || entry.ShardCount < 2 || age(entry.Descriptor) < MinimumAge)
        {
            return null;
        }

        double hottest = load.HottestShare(entry.StartShard, entry.EndShard);
        (int at, double imbalance) = load.BalancedBoundary(entry.StartShard, entry.EndShard);
        if (hottest > MaxHottestShare || imbalance >= MaxImbalance)
        {
            return null; // one shard (or a few adjacent ones) carries it: a split would not spread the load
        }

        RangeDescriptor d = entry.Descriptor;
        long gen = d.Generation + 1;
        var left = new RangeDescriptor(d.Id, d.StartShard, at, d.Replicas, gen, now, proposer);
        var right = new RangeDescriptor(RangeId.Derive(d.Id, gen, at), at, d.EndShard, d.Replicas, gen, now, proposer);
        string reason = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{rate:F0} req/s ≥ split request rate {config.SplitRequestRate:F0}; split at shard {at} ({load.Of(d.StartShard, at):F0} + {load.Of(at, d.EndShard):F0} req/s)");
        return new RangeChange(RangeChangeKind.Split, [entry], new MetaRangeUpdate(left, right), reason, "load");
    }
}
