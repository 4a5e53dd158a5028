using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class RangeManagerTests
{
    private const long MiB = 1L << 20;
    private static readonly HashSet<NodeId> Live123 = [N(1), N(2), N(3)];
    private static readonly ShardingConfig Config = new() { ShardCount = 64 };
    private static readonly RangeManager Manager = new(Config);

    // Late enough that every descriptor in these tests is out of its merge cool-down.
    private static readonly HlcTimestamp Later = new(Config.MergeCooldown.Ticks / TimeSpan.TicksPerMillisecond * 10, 0);

    private static ShardSizes Sizes(int shards, Func<int, long> bytes) =>
        new([.. Enumerable.Range(0, shards).Select(bytes)]);

    // Leadership moves (count balancing) are LeaderBalancerTests' subject: left out here, so that these tests
    // see the replica, split and merge decisions alone.
    private static RangePlan Plan(MetaRange table, ShardSizes sizes, HashSet<NodeId>? live = null, HlcTimestamp? now = null)
    {
        RangePlan plan = Manager.Plan(table.Current, sizes, live ?? Live123, N(1), now ?? Later, AgeAt(now ?? Later), onlyLedByProposer: false);
        return plan with { Changes = [.. plan.Changes.Where(c => c.Kind != RangeChangeKind.Reorder)] };
    }

    /// <summary>Ages as a node that learned each descriptor at its timestamp would count them at <paramref name="now"/>.</summary>
    private static Func<RangeDescriptor, TimeSpan> AgeAt(HlcTimestamp now) =>
        d => TimeSpan.FromMilliseconds(now.WallMilliseconds - d.Timestamp.WallMilliseconds);

    [Fact]
    public void Splits_a_range_above_64_MiB_at_the_shard_boundary_nearest_the_size_median()
    {
        MetaRange table = Table(64);
        // 72 MiB: 10 MiB in each of shards 0..5 and 12 MiB in shard 40. The median (36 MiB) lies between the
        // boundaries after shard 2 (30 MiB) and after shard 3 (40 MiB); 40 is nearer.
        ShardSizes sizes = Sizes(64, s => s switch { < 6 => 10 * MiB, 40 => 12 * MiB, _ => 0 });
        RangeChange split = Assert.Single(Plan(table, sizes).Changes);
        Assert.Equal(RangeChangeKind.Split, split.Kind);
        Assert.Equal([(0, 4), (4, 64)], split.Update.Descriptors.Select(d => (d.StartShard, d.EndShard)));
        Assert.All(split.Update.Descriptors, d => Assert.Equal(1, d.Generation));
        Assert.Equal(RangeId.Genesis, split.Update.Descriptors[0].Id);
        Assert.NotEqual(RangeId.Genesis, split.Update.Descriptors[1].Id);
        Assert.All(split.Update.Descriptors, d => Assert.Equal(N(1), d.Proposer));
    }

    [Fact]
    public void Does_not_split_at_or_below_the_threshold_nor_a_single_shard()
    {
        Assert.True(Plan(Table(64), Sizes(64, s => s == 0 ? 64 * MiB : 0)).IsEmpty);

        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 1, 1), D(2, 1, 64, 1)));
        // Shard 0 alone holds 100 MiB: it cannot be split further; the other range is empty and
        // may not merge into it (that would make a range above the split threshold).
        Assert.True(Plan(table, Sizes(64, s => s == 0 ? 100 * MiB : 0)).IsEmpty);
    }

    [Theory]
    [InlineData(5, 10, true)]   // 15 < 20: the merge rule
    [InlineData(15, 10, false)] // 25: too big, and neither side is nearly empty
    [InlineData(0, 50, true)]   // an empty range is not stranded beside a large one
    [InlineData(1, 63, true)]   // 1 MiB into 63: 64, not above the split threshold
    [InlineData(1, 64, false)]  // 65 would split at once
    [InlineData(2, 40, false)]  // 2 MiB is more than nearly empty: 42 > 20
    public void Merge_rules(long leftMiB, long rightMiB, bool merges)
    {
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1), D(2, 32, 64, 1)));
        ShardSizes sizes = Sizes(64, s => s switch { 0 => leftMiB * MiB, 32 => rightMiB * MiB, _ => 0 });
        RangePlan plan = Plan(table, sizes);
        Assert.Equal(merges, manager_merged(plan));
        if (merges)
        {
            RangeDescriptor merged = Assert.Single(Assert.Single(plan.Changes).Update.Descriptors);
            Assert.Equal((0, 64, 2L, RangeId.Genesis.Value), (merged.StartShard, merged.EndShard, merged.Generation, merged.Id.Value));
        }

        static bool manager_merged(RangePlan p) => p.Changes.Any(c => c.Kind == RangeChangeKind.Merge);
    }

    [Fact]
    public void Merges_only_ranges_with_the_same_replica_set()
    {
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1, replicas: [1, 2, 3]), D(2, 32, 64, 1, replicas: [1, 2, 4])));
        var live = new HashSet<NodeId>([N(1), N(2), N(3), N(4)]);
        Assert.True(Plan(table, Sizes(64, _ => 0), live).IsEmpty);

        // The same set in another order does merge; the left range's order is kept.
        table.Apply(D(2, 32, 64, 2, replicas: [3, 1, 2]));
        RangeDescriptor merged = Assert.Single(Assert.Single(Plan(table, Sizes(64, _ => 0), live).Changes).Update.Descriptors);
        Assert.Equal<NodeId>([N(1), N(2), N(3)], merged.Replicas);
        Assert.Equal(3, merged.Generation); // max(1, 2) + 1
    }

    [Fact]
    public void The_smallest_range_merges_first_with_its_smaller_neighbour()
    {
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 16, 1), D(2, 16, 32, 1), D(3, 32, 48, 1), D(4, 48, 64, 1)));
        // Range 3 (1 MiB) could merge with 2 (5 MiB) or 4 (6 MiB): it takes 2. Then 1 and 4 have no free neighbour.
        ShardSizes sizes = Sizes(64, s => s switch { 0 => 8 * MiB, 16 => 5 * MiB, 32 => 1 * MiB, 48 => 6 * MiB, _ => 0 });
        RangeChange merge = Assert.Single(Plan(table, sizes).Changes);
        Assert.Equal((16, 48), (merge.Update.Descriptors[0].StartShard, merge.Update.Descriptors[0].EndShard));
    }

    [Fact]
    public void A_range_within_its_merge_cooldown_is_not_merged()
    {
        MetaRange table = Table(64);
        long wall = 1_000_000;
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1, wallMs: wall), D(2, 32, 64, 1, wallMs: wall)));
        ShardSizes empty = Sizes(64, _ => 0);
        long cooldownMs = (long)Config.MergeCooldown.TotalMilliseconds;
        Assert.True(Plan(table, empty, now: new HlcTimestamp(wall + cooldownMs - 1, 0)).IsEmpty);
        Assert.False(Plan(table, empty, now: new HlcTimestamp(wall + cooldownMs, 0)).IsEmpty);
    }

    [Fact]
    public void Replaces_a_dead_replica_keeping_the_survivors_in_order()
    {
        MetaRange table = Table(64, 1, 2, 3);
        var live = new HashSet<NodeId>([N(1), N(3), N(4), N(5)]);
        RangeChange change = Assert.Single(Plan(table, Sizes(64, _ => 0), live).Changes);
        Assert.Equal(RangeChangeKind.Replicate, change.Kind);
        RangeDescriptor next = Assert.Single(change.Update.Descriptors);
        Assert.Equal<NodeId>([N(1), N(3)], next.Replicas.Take(2));
        Assert.Contains(next.Replicas[2], new[] { N(4), N(5) });
        Assert.Equal(1, next.Generation);
        // Every node computes the same replacement.
        Assert.Equal<NodeId>(next.Replicas, ReplicaPlacement.Choose(RangeId.Genesis, [N(1), N(2), N(3)], live, 3));
    }

    [Fact]
    public void A_range_whose_replicas_are_all_dead_is_reported_unavailable_not_changed()
    {
        MetaRange table = Table(64, 1, 2, 3);
        RangePlan plan = Plan(table, Sizes(64, _ => 0), [N(4), N(5), N(6)]);
        Assert.True(plan.IsEmpty);
        Assert.Single(plan.Unavailable);
    }

    [Fact]
    public void With_fewer_live_nodes_than_the_factor_dead_replicas_stay_listed_until_they_can_be_replaced()
    {
        MetaRange table = Table(64, 1, 2, 3);
        RangeDescriptor next = Assert.Single(Assert.Single(Plan(table, Sizes(64, _ => 0), [N(2), N(7)]).Changes).Update.Descriptors);
        // node-7 replaces one dead replica; node-1 stays, last, so the write quorum is still 2 of 3.
        Assert.Equal<NodeId>([N(2), N(7), N(1)], next.Replicas);

        // No live node to take a dead one's place: nothing changes at all.
        Assert.True(Plan(table, Sizes(64, _ => 0), [N(2)]).IsEmpty);
    }

    [Fact]
    public void A_clipped_descriptor_is_reported_and_left_alone()
    {
        // Decided changes never clip a descriptor; a table that shows one (an operator's injection, a bug)
        // must not be "repaired" by a change no slot could decide.
        MetaRange table = Table(64);
        table.Apply(D(1, 0, 64, 2, proposer: 1));
        table.Apply(D(9, 20, 30, 3, proposer: 2));
        RangePlan plan = Plan(table, Sizes(64, _ => 0));
        Assert.Equal(2, plan.Clipped.Length);
        Assert.DoesNotContain(plan.Changes, c => c.Replaces.Any(e => e.IsClipped));
    }

    [Fact]
    public void Keeps_only_the_changes_of_ranges_the_proposer_leads()
    {
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1, replicas: [1, 2, 3]), D(2, 32, 64, 1, replicas: [2, 3, 1])));
        ShardSizes big = Sizes(64, s => s is 0 or 1 or 32 or 33 ? 40 * MiB : 0);
        Assert.Equal([0], Manager.Plan(table.Current, big, Live123, N(1), Later, AgeAt(Later)).Changes.Select(c => c.Replaces[0].StartShard));
        Assert.Equal([32], Manager.Plan(table.Current, big, Live123, N(2), Later, AgeAt(Later)).Changes.Select(c => c.Replaces[0].StartShard));
        // With node-1 dead, node-2 leads both.
        Assert.Equal(2, Manager.Plan(table.Current, big, new HashSet<NodeId>([N(2), N(3), N(4)]), N(2), Later, AgeAt(Later)).Changes.Length);
    }

    [Fact]
    public void A_random_size_series_never_thrashes_and_settles_whenever_sizes_stop_changing()
    {
        var random = new Random(4659); // tikv/pd#4659: the split → merge → split loop
        const int shards = 64;
        long cooldownMs = (long)Config.MergeCooldown.TotalMilliseconds;
        int splits = 0;
        int merges = 0;
        for (int series = 0; series < 30; series++)
        {
            MetaRange table = Table(shards);
            long[] bytes = new long[shards];
            long wall = 1;
            var lastSplit = new Dictionary<int, long>(); // boundary shard → wall time it was created by a split
            for (int step = 0; step < 120; step++)
            {
                bool quiet = step % 30 >= 20; // the last 10 steps of every 30: sizes stand still
                if (!quiet)
                {
                    for (int k = 0; k < 6; k++)
                    {
                        int s = random.Next(shards);
                        bytes[s] = Math.Max(0, bytes[s] + (random.NextDouble() < 0.7 ? random.Next(0, 12) : -random.Next(0, 24)) * MiB);
                    }
                }

                var sizes = new ShardSizes(bytes);
                wall += cooldownMs / 4;
                RangePlan plan = Manager.Plan(table.Current, sizes, Live123, N(1), new HlcTimestamp(wall, 0), AgeAt(new HlcTimestamp(wall, 0)), onlyLedByProposer: false);
                if (quiet && step % 30 == 29)
                {
                    Assert.True(plan.IsEmpty, $"series {series} step {step}: still changing with sizes standing still: {string.Join("; ", plan.Changes.Select(c => c.Reason))}");
                }

                foreach (RangeChange change in plan.Changes)
                {
                    if (change.Kind == RangeChangeKind.Merge)
                    {
                        merges++;
                        RangeDescriptor merged = change.Update.Descriptors[0];
                        // A merged range never qualifies for an immediate split.
                        Assert.True(sizes.Of(merged.StartShard, merged.EndShard) <= Config.SplitThresholdBytes);
                        // The boundary removed by a merge was not made by a split within the cool-down.
                        int boundary = change.Replaces[1].StartShard;
                        if (lastSplit.TryGetValue(boundary, out long at))
                        {
                            Assert.True(wall - at >= cooldownMs, $"boundary {boundary} split at {at} merged at {wall}");
                        }
                    }
                    else if (change.Kind == RangeChangeKind.Split)
                    {
                        splits++;
                        lastSplit[change.Update.Descriptors[1].StartShard] = wall;
                    }

                    table.Apply(change.Update);
                }

                MetaRangeInvariantTests.AssertPartition(table.Current, shards);
            }
        }

        // The series exercised both directions.
        Assert.True(splits > 30, $"only {splits} splits");
        Assert.True(merges > 10, $"only {merges} merges");
    }

    [Fact]
    public void An_empty_range_beside_a_large_one_is_merged_not_stranded()
    {
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 8, 1), D(2, 8, 64, 1)));
        RangeChange merge = Assert.Single(Plan(table, Sizes(64, s => s == 10 ? 60 * MiB : 0)).Changes);
        Assert.Equal(RangeChangeKind.Merge, merge.Kind);
    }

    [Fact]
    public void A_joining_node_takes_over_replicas_until_counts_differ_by_at_most_one_and_nothing_else_moves()
    {
        MetaRange table = Table(64);
        table.Apply(Enumerable.Range(0, 8).Select(r => D((ulong)r + 10, r * 8, (r + 1) * 8, 1)));
        var live = new HashSet<NodeId>([N(1), N(2), N(3), N(4)]);
        var soon = new HlcTimestamp(1, 0); // within the merge cool-down: these empty ranges would merge otherwise
        RangePlan plan = Plan(table, Sizes(64, _ => 0), live, soon);
        Assert.All(plan.Changes, c => Assert.Equal(RangeChangeKind.Replicate, c.Kind));
        Assert.Equal(6, plan.Changes.Length); // 24 replicas over 4 nodes: 6 each, so 6 moves and no more
        foreach (RangeChange change in plan.Changes)
        {
            RangeDescriptor before = change.Replaces[0].Descriptor;
            RangeDescriptor after = change.Update.Descriptors[0];
            Assert.Single(after.Replicas.Except(before.Replicas)); // one replica moves per change
            Assert.Contains(N(4), after.Replicas);
            table.Apply(change.Update);
        }

        int[] counts = [.. live.Select(n => table.Current.Entries.Count(e => e.Descriptor.Replicas.Contains(n)))];
        Assert.True(counts.Max() - counts.Min() <= 1, string.Join(",", counts));
        Assert.Equal(2, table.Current.Entries.Count(e => e.Descriptor.Generation == 1)); // two ranges untouched
        Assert.True(Plan(table, Sizes(64, _ => 0), live, soon).IsEmpty); // balanced: nothing more to do
    }

    [Fact]
    public void A_range_short_of_a_replica_is_re_replicated_first_and_split_in_a_later_plan()
    {
        MetaRange table = Table(64, 1, 2, 3);
        ShardSizes big = Sizes(64, s => s < 2 ? 40 * MiB : 0);
        var live = new HashSet<NodeId>([N(1), N(3), N(4)]);
        RangeChange replicate = Assert.Single(Plan(table, big, live).Changes);
        Assert.Equal(RangeChangeKind.Replicate, replicate.Kind);
        table.Apply(replicate.Update);
        Assert.Equal(RangeChangeKind.Split, Assert.Single(Plan(table, big, live).Changes).Kind);
    }

    [Fact]
    public void The_rebalancer_moves_only_ranges_no_check_took()
    {
        // 2, 2, 2, 0 replicas on nodes 1..4: range [0, 32) is split, so the move falls to [32, 64).
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1), D(2, 32, 64, 1)));
        RangePlan plan = Plan(table, Sizes(64, s => s < 2 ? 40 * MiB : 0), [N(1), N(2), N(3), N(4)]);
        Assert.Equal([(RangeChangeKind.Split, 0), (RangeChangeKind.Replicate, 32)], plan.Changes.Select(c => (c.Kind, c.Replaces[0].StartShard)));
    }

    [Fact]
    public void The_rebalancer_moves_at_most_one_replica_of_a_range_per_plan()
    {
        // 2, 2, 2, 0, 0 replicas on nodes 1..5: node-1 gives one to node-4, then node-2 one to node-5. Both
        // would fit the first range; the second move goes to the other range.
        MetaRange table = Table(64);
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1), D(2, 32, 64, 1)));
        var soon = new HlcTimestamp(1, 0); // within the merge cool-down: these empty ranges would merge otherwise
        RangePlan plan = Plan(table, Sizes(64, _ => 0), [N(1), N(2), N(3), N(4), N(5)], soon);
        Assert.Equal([0, 32], plan.Changes.Select(c => Assert.Single(c.Replaces).StartShard));
        Assert.Equal<NodeId>([N(4), N(2), N(3)], plan.Changes[0].Update.Descriptors[0].Replicas);
        Assert.Equal<NodeId>([N(1), N(5), N(3)], plan.Changes[1].Update.Descriptors[0].Replicas);
    }
}
