using System.Collections.Immutable;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Merges two adjacent ranges with the same replica set, neither learned by this node within
/// <see cref="ShardingConfig.MergeCooldown"/> (local time, never the proposer's clock), when the combined size is below
/// <see cref="ShardingConfig.MergeThresholdBytes"/>; or when one holds at most
/// <see cref="ShardingConfig.StrandedRangeBytes"/> and the combined size stays at or below the split
/// threshold, so an empty range is never stranded beside a large one. A merged range therefore never
/// qualifies for an immediate split. Smaller ranges go first (<see cref="Candidates"/>), each with its
/// smaller neighbour; the result keeps the left's id and replica order and gets max(generation) + 1. A range
/// this node coordinates at half the split request rate or more is not merged (a hot range would only split
/// again by load).
/// </summary>
internal sealed class MergeCheck(ShardingConfig config)
{
    /// <summary>The order in which ranges look for a merge: smallest first (PD's merge priority), ties in shard order.</summary>
    public static IEnumerable<int> Candidates(ImmutableArray<MetaRangeEntry> entries, ShardSizes sizes) =>
        Enumerable.Range(0, entries.Length).OrderBy(i => sizes.Of(entries[i].StartShard, entries[i].EndShard)).ThenBy(i => i);

    /// <summary>
    /// The merge of entry <paramref name="i"/> with its smaller eligible neighbour, or null. Neither may be
    /// <paramref name="busy"/>: taking part in another change of the plan.
    /// </summary>
    public RangeChange? Check(
        ImmutableArray<MetaRangeEntry> entries,
        int i,
        ShardSizes sizes,
        Func<RangeDescriptor, TimeSpan> age,
        ReadOnlySpan<bool> busy,
        NodeId proposer,
        HlcTimestamp now,
        ShardLoad? load = null)
    {
        if (busy[i] || !Mergeable(entries[i], age) || Hot(entries[i], load))
        {
            return null;
        }

        long size = sizes.Of(entries[i].StartShard, entries[i].EndShard);
        int best = -1;
        long bestSize = long.MaxValue;
        foreach (int j in (ReadOnlySpan<int>)[i - 1, i + 1])
        {
            if (j < 0 || j >= entries.Length || busy[j] || !Mergeable(entries[j], age) || Hot(entries[j], load)
                || !entries[i].Descriptor.HasSameReplicaSet(entries[j].Descriptor))
            {
                continue;
            }

            long neighbour = sizes.Of(entries[j].StartShard, entries[j].EndShard);
            if (MayMerge(size, neighbour) && neighbour < bestSize)
            {
                best = j;
                bestSize = neighbour;
            }
        }

        if (best < 0)
        {
            return null;
        }

        MetaRangeEntry l = entries[Math.Min(i, best)];
        MetaRangeEntry r = entries[Math.Max(i, best)];
        var merged = new RangeDescriptor(
            l.Descriptor.Id,
            l.StartShard,
            r.EndShard,
            l.Descriptor.Replicas,
            Math.Max(l.Descriptor.Generation, r.Descriptor.Generation) + 1,
            now,
            proposer);
        string why = $"{size} + {bestSize} bytes; merge threshold {config.MergeThresholdBytes}, stranded-range size {config.StrandedRangeBytes}";
        return new RangeChange(RangeChangeKind.Merge, [l, r], new MetaRangeUpdate(merged), why, "small");
    }

    /// <summary>A range coordinated at half the split request rate or more is kept apart: merged, it would split again by load.</summary>
    private bool Hot(MetaRangeEntry entry, ShardLoad? load) =>
        load is not null && load.Of(entry.StartShard, entry.EndShard) >= config.SplitRequestRate / 2;

    /// <summary>Whether two adjacent ranges of these sizes may merge (same replicas and cool-down checked apart).</summary>
    public bool MayMerge(long sizeA, long sizeB)
    {
        long combined = sizeA + sizeB;
        if (combined < config.MergeThresholdBytes)
        {
            return true;
        }

        return Math.Min(sizeA, sizeB) <= config.StrandedRangeBytes && combined <= config.SplitThresholdBytes;
    }

    private bool Mergeable(MetaRangeEntry entry, Func<RangeDescriptor, TimeSpan> age) =>
        !entry.IsClipped && age(entry.Descriptor) >= config.MergeCooldown;
}
