using System.Collections.Immutable;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// The planner: proposes re-replication, splits, merges and rebalancing as a pure function of the table,
/// per-shard sizes and load, the live members and the age of each descriptor, by running its checks in order
/// of priority: <see cref="ReplicaCheck"/> (availability first), <see cref="SplitCheck"/> (by size), then
/// <see cref="LoadSplitCheck"/>, <see cref="MergeCheck"/>, <see cref="Rebalancer"/> (replica counts), and
/// <see cref="LeaderBalancer"/> (leadership by load, then by count) over whatever is left. Each range takes part in
/// at most one change per plan (a change replaces the descriptors it was planned against, so a second one
/// would replace a descriptor already gone): the planner marks the ranges a change replaces busy, and no
/// later check proposes anything for them. A range with no live replica and a clipped entry (a descriptor
/// holding only part of its span, which decided changes never produce) are reported and left alone. A
/// plan is only a proposal: every change is decided by a majority of the replicas it replaces (see
/// <see cref="Consensus.ChangeOrchestration"/>), so a proposer's membership view can start a change but
/// never decide one.
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
    private readonly LoadSplitCheck _loadSplit;
    private readonly LeaderBalancer _leaders;

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
        _loadSplit = new LoadSplitCheck(config);
        _leaders = new LeaderBalancer(config);
    }

    /// <param name="table">The current meta-range.</param>
    /// <param name="sizes">Approximate bytes per shard.</param>
    /// <param name="live">Members currently alive.</param>
    /// <param name="proposer">The node planning; it signs the new descriptors.</param>
    /// <param name="now">The proposer's HLC time: the new descriptors' timestamp.</param>
    /// <param name="age">How long the planning node has known a descriptor: the clock of the merge cool-down.</param>
    /// <param name="onlyLedByProposer">Keep only changes to ranges <paramref name="proposer"/> leads (first live replica).</param>
    /// <param name="load">The planning node's measured load and the nodes' rates; without it, splits go by size only and leaders by count only.</param>
    public RangePlan Plan(
        MetaRangeSnapshot table,
        ShardSizes sizes,
        IReadOnlySet<NodeId> live,
        NodeId proposer,
        HlcTimestamp now,
        Func<RangeDescriptor, TimeSpan> age,
        bool onlyLedByProposer = true,
        LoadView? load = null)
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

            // Availability first: a range is split only once its replicas are as they should be; by size before by load.
            if ((_replicas.Check(entry, live, proposer, now)
                    ?? _split.Check(entry, sizes, proposer, now)
                    ?? (load is null ? null : _loadSplit.Check(entry, load.Shards, age, proposer, now))) is { } change)
            {
                Take(change);
            }
        }

        foreach (int i in MergeCheck.Candidates(entries, sizes))
        {
            if (_merge.Check(entries, i, sizes, age, busy, proposer, now, load?.Shards) is { } merge)
            {
                Take(merge);
            }
        }

        // Counted from the table as it stands; each move is recorded as it is planned and takes its range, so the loop ends.
        var counts = new ReplicaCounts(table.Descriptors(), live);
        while (Rebalancer.Next(entries, counts, busy, proposer, now) is { } move)
        {
            Take(move);
            counts.Record(move);
        }

        // Leadership last, over the ranges no other change took: by load (the planning node's own), then by count.
        var leads = new LeaderCounts(table.Descriptors(), live);
        if (load is not null && _leaders.ByLoad(entries, leads, busy, live, load, age, proposer, now) is { } byLoad)
        {
            Take(byLoad);
        }

        while (_leaders.ByCount(entries, leads, busy, live, load, age, proposer, now) is { } byCount)
        {
            Take(byCount);
        }

        ImmutableArray<RangeChange> all = changes.ToImmutable();
        if (onlyLedByProposer)
        {
            all = [.. all.Where(c => LeaderOf(c.Replaces[0].Descriptor, live) == proposer)];
        }

        return new RangePlan(all, unavailable.ToImmutable(), clipped.ToImmutable());
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
