using System.Collections.Immutable;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class MergeCheckTests
{
    private const long MiB = 1L << 20;
    private static readonly ShardingConfig Config = new() { ShardCount = 64 };
    private static readonly MergeCheck Check = new(Config);
    private static readonly HlcTimestamp Now = new(5_000, 3);
    private static readonly Func<RangeDescriptor, TimeSpan> Settled = _ => Config.MergeCooldown;

    /// <summary>A table of ranges 10, 11, … over the given spans, generation 1, and the bytes of each range (in its first shard).</summary>
    private static (ImmutableArray<MetaRangeEntry> Entries, ShardSizes Sizes) Ranges(params (int Start, int End, long Bytes)[] ranges)
    {
        MetaRange table = Table(64);
        table.Apply(ranges.Select((r, k) => D((ulong)k + 10, r.Start, r.End, 1)));
        long[] bytes = new long[64];
        foreach ((int start, _, long b) in ranges)
        {
            bytes[start] = b;
        }

        return (table.Current.Entries, new ShardSizes(bytes));
    }

    private static RangeChange? Merge(ImmutableArray<MetaRangeEntry> entries, int i, ShardSizes sizes, Func<RangeDescriptor, TimeSpan>? age = null, bool[]? busy = null) =>
        Check.Check(entries, i, sizes, age ?? Settled, busy ?? new bool[entries.Length], N(1), Now);

    [Fact]
    public void The_cool_down_is_counted_by_the_age_function_alone_on_both_sides()
    {
        (ImmutableArray<MetaRangeEntry> entries, ShardSizes sizes) = Ranges((0, 32, 0), (32, 64, 0));
        TimeSpan young = Config.MergeCooldown - TimeSpan.FromTicks(1);

        // The descriptors carry wall time 0, long before Now; only the age this node counts matters.
        Func<RangeDescriptor, TimeSpan> rightYoung = d => d.Id == new RangeId(11) ? young : Config.MergeCooldown;
        Assert.Null(Merge(entries, 0, sizes, rightYoung));
        Assert.Null(Merge(entries, 1, sizes, rightYoung));
        Assert.Null(Merge(entries, 0, sizes, _ => young));

        RangeChange? merge = Merge(entries, 1, sizes, _ => Config.MergeCooldown);
        Assert.NotNull(merge);
        Assert.Equal(RangeChangeKind.Merge, merge.Kind);
    }

    [Fact]
    public void Takes_the_smaller_neighbour_that_is_not_busy_and_nothing_when_the_range_itself_is()
    {
        (ImmutableArray<MetaRangeEntry> entries, ShardSizes sizes) = Ranges((0, 16, 5 * MiB), (16, 32, 1 * MiB), (32, 64, 3 * MiB));
        Assert.Equal([16, 32], Merge(entries, 1, sizes)!.Replaces.Select(e => e.StartShard));
        Assert.Equal([0, 16], Merge(entries, 1, sizes, busy: [false, false, true])!.Replaces.Select(e => e.StartShard));
        Assert.Null(Merge(entries, 1, sizes, busy: [true, false, true]));
        Assert.Null(Merge(entries, 1, sizes, busy: [false, true, false]));
    }

    [Fact]
    public void Between_equal_neighbours_the_left_is_taken_and_the_result_is_the_left_range_one_generation_past_both()
    {
        MetaRange table = Table(64);
        table.Apply([D(10, 0, 16, 4, replicas: [2, 3, 1]), D(11, 16, 32, 1, replicas: [1, 2, 3]), D(12, 32, 64, 1, replicas: [3, 2, 1])]);
        ImmutableArray<MetaRangeEntry> entries = table.Current.Entries;
        RangeChange? merge = Check.Check(entries, 1, new ShardSizes(new long[64]), Settled, new bool[3], N(3), Now);
        Assert.NotNull(merge);
        Assert.Equal<MetaRangeEntry>([entries[0], entries[1]], merge.Replaces);
        RangeDescriptor merged = Assert.Single(merge.Update.Descriptors);
        Assert.Equal((new RangeId(10), 0, 32, 5L), (merged.Id, merged.StartShard, merged.EndShard, merged.Generation));
        Assert.Equal<NodeId>([N(2), N(3), N(1)], merged.Replicas);
        Assert.Equal((Now, N(3)), (merged.Timestamp, merged.Proposer));
    }

    [Fact]
    public void Candidates_are_the_smallest_ranges_first_ties_in_shard_order()
    {
        (ImmutableArray<MetaRangeEntry> entries, ShardSizes sizes) = Ranges((0, 8, 3), (8, 16, 1), (16, 32, 3), (32, 64, 0));
        Assert.Equal([3, 1, 0, 2], MergeCheck.Candidates(entries, sizes));
    }

    [Fact]
    public void Size_rules_at_their_edges()
    {
        long merge = Config.MergeThresholdBytes;
        long stranded = Config.StrandedRangeBytes;
        long split = Config.SplitThresholdBytes;
        Assert.True(Check.MayMerge((merge / 2) - 1, merge / 2)); // below the merge threshold
        Assert.False(Check.MayMerge(merge / 2, merge / 2)); // at it: no longer below
        Assert.True(Check.MayMerge(stranded, split - stranded)); // nearly empty, and the sum not above the split threshold
        Assert.False(Check.MayMerge(stranded + 1, merge)); // a byte more than nearly empty
        Assert.False(Check.MayMerge(stranded, split - stranded + 1)); // the sum would split at once
    }

    [Fact]
    public void A_clipped_entry_is_never_merged_even_when_not_busy()
    {
        MetaRange table = Table(64);
        table.Apply(D(1, 0, 64, 2));
        table.Apply(D(9, 20, 30, 3)); // clips range 1 into [0, 20) and [30, 64)
        ImmutableArray<MetaRangeEntry> entries = table.Current.Entries;
        Assert.Equal([true, false, true], entries.Select(e => e.IsClipped));
        var sizes = new ShardSizes(new long[64]);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Null(Merge(entries, i, sizes)));
    }
}
