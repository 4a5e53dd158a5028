using System.Collections.Immutable;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Proposes splits, merges and re-replication as a pure function of the table, per-shard sizes, the live
/// members and the age of each descriptor. Each range takes part in at most one change per plan, in this
/// order of priority: replicas (availability first), split, merge. A plan is only a proposal: every change
/// is decided by a majority of the replicas it replaces (see <see cref="Consensus.ChangeOrchestration"/>),
/// so a proposer's membership view can start a change but never decide one. A clipped entry (a descriptor
/// holding only part of its span) cannot arise from decided changes; it is left alone and reported.
/// <list type="bullet">
/// <item>Split: <see cref="SplitCheck"/>.</item>
/// <item>Merge: two adjacent ranges with the same replica set, neither learned by this node within
/// <see cref="ShardingConfig.MergeCooldown"/> (local time, never the proposer's clock), when the combined size is below
/// <see cref="ShardingConfig.MergeThresholdBytes"/>; or when one holds at most
/// <see cref="ShardingConfig.StrandedRangeBytes"/> and the combined size stays at or below the split
/// threshold, so an empty range is never stranded beside a large one. A merged range therefore never
/// qualifies for an immediate split. Smaller ranges go first, each with its smaller neighbour; the result gets max(generation) + 1.</item>
/// <item>Replicate: <see cref="ReplicaCheck"/>.</item>
/// </list>
/// Thrash (split → merge → split) cannot happen: a split's halves hold about half of a size above the
/// split threshold, which is at least twice the merge threshold (checked by configuration), the cool-down
/// keeps a fresh split from merging while uneven halves settle, and a merge never produces a range above
/// the split threshold.
/// </summary>
public sealed class RangeManager
{
    private readonly ShardingConfig _config;
    private readonly ReplicaCheck _replicas;
    private readonly SplitCheck _split;

    public RangeManager(ShardingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        config.Validate(errors, "Sharding:");
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        _config = config;
        _replicas = new ReplicaCheck(config);
        _split = new SplitCheck(config);
    }

    /// <param name="table">The current meta-range.</param>
    /// <param name="sizes">Approximate bytes per shard.</param>
    /// <param name="live">Members currently alive.</param>
    /// <param name="proposer">The node planning; it signs the new descriptors.</param>
    /// <param name="now">The proposer's HLC time: the new descriptors' timestamp.</param>
    /// <param name="age">How long the planning node has known a descriptor: the clock of the merge cool-down.</param>
    /// <param name="onlyLedByProposer">Keep only changes to ranges <paramref name="proposer"/> leads (first live replica).</param>
    public RangePlan Plan(
        MetaRangeSnapshot table,
        ShardSizes sizes,
        IReadOnlySet<NodeId> live,
        NodeId proposer,
        HlcTimestamp now,
        Func<RangeDescriptor, TimeSpan> age,
        bool onlyLedByProposer = true)
    {
        ArgumentNullException.ThrowIfNull(age);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(live);
        if (sizes.ShardCount != table.ShardCount)
        {
            throw new ArgumentException($"Sizes cover {sizes.ShardCount} shards; the table has {table.ShardCount}.", nameof(sizes));
        }

        ImmutableArray<MetaRangeEntry> entries = table.Entries;
        var busy = new bool[entries.Length];
        var changes = ImmutableArray.CreateBuilder<RangeChange>();
        var unavailable = ImmutableArray.CreateBuilder<MetaRangeEntry>();
        var clipped = ImmutableArray.CreateBuilder<MetaRangeEntry>();

        for (int i = 0; i < entries.Length; i++)
        {
            MetaRangeEntry entry = entries[i];
            if (!entry.Descriptor.Replicas.Any(live.Contains))
            {
                // Its data lives only on dead nodes: nothing to copy from until one of them returns.
                unavailable.Add(entry);
                busy[i] = true;
                continue;
            }

            if (entry.IsClipped)
            {
                clipped.Add(entry);
                busy[i] = true;
                continue;
            }

            // Availability first: a range is split only once its replicas are as they should be.
            if ((_replicas.Check(entry, live, proposer, now) ?? _split.Check(entry, sizes, proposer, now)) is { } change)
            {
                changes.Add(change);
                busy[i] = true;
            }
        }

        // Smallest ranges first (PD's merge priority), each with its smaller eligible neighbour.
        int[] bySize = [.. Enumerable.Range(0, entries.Length).OrderBy(i => sizes.Of(entries[i].StartShard, entries[i].EndShard)).ThenBy(i => i)];
        foreach (int i in bySize)
        {
            if (busy[i] || !Mergeable(entries[i], age))
            {
                continue;
            }

            long size = sizes.Of(entries[i].StartShard, entries[i].EndShard);
            int best = -1;
            long bestSize = long.MaxValue;
            foreach (int j in (ReadOnlySpan<int>)[i - 1, i + 1])
            {
                if (j < 0 || j >= entries.Length || busy[j] || !Mergeable(entries[j], age)
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
                continue;
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
            string why = $"{size} + {bestSize} bytes; merge threshold {_config.MergeThresholdBytes}, stranded-range size {_config.StrandedRangeBytes}";
            changes.Add(new RangeChange(RangeChangeKind.Merge, [l, r], new MetaRangeUpdate(merged), why));
            busy[i] = busy[best] = true;
        }

        Rebalance(entries, busy, live, proposer, now, changes);

        ImmutableArray<RangeChange> all = changes.ToImmutable();
        if (onlyLedByProposer)
        {
            all = [.. all.Where(c => LeaderOf(c.Replaces[0].Descriptor, live) == proposer)];
        }

        return new RangePlan(all, unavailable.ToImmutable(), clipped.ToImmutable());
    }

    /// <summary>
    /// After a join (or any imbalance), moves single replicas from the most loaded live member to the least
    /// loaded until replica counts differ by at most one. Each move replaces one replica of one range, the
    /// first eligible range in shard order, so every node computes the same moves and as few as possible:
    /// a range whose replicas already balance is never touched.
    /// </summary>
    private void Rebalance(ImmutableArray<MetaRangeEntry> entries, bool[] busy, IReadOnlySet<NodeId> live, NodeId proposer, HlcTimestamp now, ImmutableArray<RangeChange>.Builder changes)
    {
        if (live.Count < 2)
        {
            return;
        }

        var count = live.ToDictionary(n => n, _ => 0);
        var seen = new HashSet<RangeDescriptor>(ReferenceEqualityComparer.Instance);
        foreach (MetaRangeEntry entry in entries)
        {
            if (seen.Add(entry.Descriptor))
            {
                foreach (NodeId replica in entry.Descriptor.Replicas.Where(count.ContainsKey))
                {
                    count[replica]++;
                }
            }
        }

        for (int i = 0; i < entries.Length; i++)
        {
            NodeId most = count.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
            NodeId least = count.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
            if (count[most] - count[least] <= 1)
            {
                return;
            }

            int pick = -1;
            for (int j = 0; j < entries.Length && pick < 0; j++)
            {
                RangeDescriptor d = entries[j].Descriptor;
                if (!busy[j] && !entries[j].IsClipped && d.Replicas.Contains(most) && !d.Replicas.Contains(least))
                {
                    pick = j;
                }
            }

            if (pick < 0)
            {
                return;
            }

            MetaRangeEntry moved = entries[pick];
            RangeDescriptor from = moved.Descriptor;
            ImmutableArray<NodeId> replicas = from.Replicas.Replace(most, least);
            var next = new RangeDescriptor(from.Id, from.StartShard, from.EndShard, replicas, from.Generation + 1, now, proposer);
            changes.Add(new RangeChange(RangeChangeKind.Replicate, [moved], new MetaRangeUpdate(next), $"rebalance: a replica of {from.Id} moves from {most} ({count[most]} replicas) to {least} ({count[least]})"));
            busy[pick] = true;
            count[most]--;
            count[least]++;
        }
    }

    /// <summary>Whether two adjacent ranges of these sizes may merge (same replicas and cool-down checked apart).</summary>
    public bool MayMerge(long sizeA, long sizeB)
    {
        long combined = sizeA + sizeB;
        if (combined < _config.MergeThresholdBytes)
        {
            return true;
        }

        return Math.Min(sizeA, sizeB) <= _config.StrandedRangeBytes && combined <= _config.SplitThresholdBytes;
    }

    private bool Mergeable(MetaRangeEntry entry, Func<RangeDescriptor, TimeSpan> age) =>
        !entry.IsClipped && age(entry.Descriptor) >= _config.MergeCooldown;

    private static NodeId? LeaderOf(RangeDescriptor d, IReadOnlySet<NodeId> live)
    {
        foreach (NodeId node in d.Replicas)
        {
            if (live.Contains(node))
            {
                return node;
            }
        }

        return null;
    }
}
