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
/// <item>Merge: <see cref="MergeCheck"/>.</item>
/// <item>Replicate: <see cref="ReplicaCheck"/>.</item>
/// </list>
/// Thrash (split → merge → split) cannot happen: a split's halves hold about half of a size above the
/// split threshold, which is at least twice the merge threshold (checked by configuration), the cool-down
/// keeps a fresh split from merging while uneven halves settle, and a merge never produces a range above
/// the split threshold.
/// </summary>
public sealed class RangeManager
{
    private readonly ReplicaCheck _replicas;
    private readonly SplitCheck _split;
    private readonly MergeCheck _merge;

    public RangeManager(ShardingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        config.Validate(errors, "Sharding:");
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        _replicas = new ReplicaCheck(config);
        _split = new SplitCheck(config);
        _merge = new MergeCheck(config);
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

        void Take(RangeChange change)
        {
            changes.Add(change);
            foreach (MetaRangeEntry replaced in change.Replaces)
            {
                busy[table.IndexOf(replaced.StartShard)] = true;
            }
        }

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
                Take(change);
            }
        }

        foreach (int i in MergeCheck.Candidates(entries, sizes))
        {
            if (_merge.Check(entries, i, sizes, age, busy, proposer, now) is { } merge)
            {
                Take(merge);
            }
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
