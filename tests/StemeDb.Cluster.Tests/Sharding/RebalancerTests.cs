using System.Collections.Immutable;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class RebalancerTests
{
    private static readonly HlcTimestamp Now = new(5_000, 3);
    private static readonly HashSet<NodeId> Live1234 = [N(1), N(2), N(3), N(4)];

    /// <summary>Ranges 10, 11, … of equal width over the 64 shards, generation 1, with these replicas.</summary>
    private static ImmutableArray<MetaRangeEntry> Ranges(params int[][] replicas)
    {
        MetaRange table = Table(64);
        int width = 64 / replicas.Length;
        table.Apply(replicas.Select((r, k) => D((ulong)k + 10, k * width, (k + 1) * width, 1, replicas: r)));
        return table.Current.Entries;
    }

    private static ReplicaCounts Counts(ImmutableArray<MetaRangeEntry> entries, HashSet<NodeId> live) =>
        new(entries.Select(e => e.Descriptor), live);

    [Fact]
    public void Moves_one_replica_in_place_from_the_most_to_the_least_loaded_in_the_first_free_range_that_can_take_it()
    {
        // node-2 and node-3 hold 4 replicas each, node-4 one: node-2 (the lower id) gives one to node-4.
        ImmutableArray<MetaRangeEntry> entries = Ranges([2, 3, 4], [1, 2, 3], [1, 2, 3], [1, 2, 3]);
        ReplicaCounts counts = Counts(entries, Live1234);
        RangeChange? move = Rebalancer.Next(entries, counts, new bool[4], N(7), Now);
        Assert.NotNull(move);
        Assert.Equal(RangeChangeKind.Replicate, move.Kind);
        Assert.Equal(entries[1], Assert.Single(move.Replaces)); // range 0 holds node-4 already
        RangeDescriptor next = Assert.Single(move.Update.Descriptors);
        Assert.Equal<NodeId>([N(1), N(4), N(3)], next.Replicas);
        Assert.Equal((new RangeId(11), 16, 32, 2L, Now, N(7)), (next.Id, next.StartShard, next.EndShard, next.Generation, next.Timestamp, next.Proposer));
        Assert.Equal("rebalance: a replica of 000000000000000b moves from node-2 (4 replicas) to node-4 (1)", move.Reason);

        // The same move, in the next free range.
        Assert.Equal(entries[2], Assert.Single(Rebalancer.Next(entries, counts, [false, true, false, false], N(7), Now)!.Replaces));
    }

    [Fact]
    public void Stops_at_a_difference_of_one()
    {
        ImmutableArray<MetaRangeEntry> entries = Ranges([1, 2, 3], [1, 2, 3]);
        ReplicaCounts counts = Counts(entries, Live1234); // 2, 2, 2, 0
        RangeChange? move = Rebalancer.Next(entries, counts, new bool[2], N(1), Now);
        Assert.NotNull(move);
        counts.Record(move); // 1, 2, 2, 1
        Assert.Null(Rebalancer.Next(entries, counts, [true, false], N(1), Now));

        ImmutableArray<MetaRangeEntry> even = Ranges([1, 2, 3], [1, 2, 4]); // 2, 2, 1, 1
        Assert.Null(Rebalancer.Next(even, Counts(even, Live1234), new bool[2], N(1), Now));
    }

    [Fact]
    public void Nothing_moves_without_a_free_whole_range_to_move_or_a_second_live_member()
    {
        ImmutableArray<MetaRangeEntry> entries = Ranges([1, 2, 3], [1, 2, 3]);
        Assert.Null(Rebalancer.Next(entries, Counts(entries, Live1234), [true, true], N(1), Now));
        Assert.Null(Rebalancer.Next(entries, Counts(entries, [N(1)]), new bool[2], N(1), Now));
        Assert.Null(Rebalancer.Next(entries, Counts(entries, []), new bool[2], N(1), Now));

        MetaRange table = Table(64);
        table.Apply(D(1, 0, 64, 2));
        table.Apply(D(9, 20, 30, 3, replicas: [1, 2, 4])); // range 1 clipped into [0, 20) and [30, 64)
        ImmutableArray<MetaRangeEntry> clipped = table.Current.Entries;
        var live = new HashSet<NodeId>([N(1), N(2), N(3), N(4), N(5)]); // 2, 2, 1, 1, 0
        RangeChange? move = Rebalancer.Next(clipped, Counts(clipped, live), new bool[3], N(1), Now);
        Assert.NotNull(move);
        Assert.Equal(clipped[1], Assert.Single(move.Replaces)); // never a clipped entry, though not busy
    }
}
