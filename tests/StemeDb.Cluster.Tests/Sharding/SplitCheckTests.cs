using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class SplitCheckTests
{
    private const long MiB = 1L << 20;
    private static readonly ShardingConfig Config = new() { ShardCount = 64 };
    private static readonly SplitCheck Check = new(Config);
    private static readonly HlcTimestamp Now = new(5_000, 3);

    private static ShardSizes Sizes(Func<int, long> bytes) => new([.. Enumerable.Range(0, 64).Select(bytes)]);

    /// <summary>The entries of a table of the given ranges, each as [start, end) at generation 1.</summary>
    private static MetaRangeEntry[] Entries(params (int Start, int End)[] spans)
    {
        MetaRange table = Table(64);
        table.Apply(spans.Select((s, k) => D((ulong)k + 10, s.Start, s.End, 1)));
        return [.. table.Current.Entries];
    }

    [Fact]
    public void A_range_of_one_shard_is_never_split_however_large_one_of_two_shards_is()
    {
        MetaRangeEntry[] entries = Entries((0, 1), (1, 3), (3, 64));
        Assert.Null(Check.Check(entries[0], Sizes(s => s == 0 ? 1024 * MiB : 0), N(1), Now));

        // Two shards: the only boundary inside, however uneven the halves.
        RangeChange? split = Check.Check(entries[1], Sizes(s => s == 1 ? 100 * MiB : 0), N(1), Now);
        Assert.NotNull(split);
        Assert.Equal([(1, 2), (2, 3)], split.Update.Descriptors.Select(d => (d.StartShard, d.EndShard)));
    }

    [Fact]
    public void Splits_only_above_the_threshold_counting_the_range_s_own_shards()
    {
        MetaRangeEntry[] entries = Entries((0, 10), (10, 20), (20, 64));
        long threshold = Config.SplitThresholdBytes;
        Assert.Null(Check.Check(entries[1], Sizes(s => s is 10 or 11 ? threshold / 2 : 0), N(1), Now));
        Assert.NotNull(Check.Check(entries[1], Sizes(s => s switch { 10 => threshold / 2, 11 => (threshold / 2) + 1, _ => 0 }), N(1), Now));

        // Bytes in the neighbours are theirs.
        Assert.Null(Check.Check(entries[1], Sizes(s => s is 9 or 20 ? 1024 * MiB : 0), N(1), Now));
    }

    [Fact]
    public void Both_halves_keep_the_replicas_and_get_the_next_generation_the_left_keeps_the_id_and_any_node_derives_the_same_right_id()
    {
        MetaRange table = Table(64);
        table.Apply(D(7, 0, 64, 4, replicas: [2, 3, 1]));
        MetaRangeEntry entry = Assert.Single(table.Current.Entries);
        ShardSizes sizes = Sizes(s => s < 8 ? 10 * MiB : 0); // 80 MiB; the median is at shard 4
        RangeChange? split = Check.Check(entry, sizes, N(2), Now);
        Assert.NotNull(split);
        Assert.Equal(RangeChangeKind.Split, split.Kind);
        Assert.Equal(entry, Assert.Single(split.Replaces));
        (RangeDescriptor left, RangeDescriptor right) = (split.Update.Descriptors[0], split.Update.Descriptors[1]);
        Assert.Equal([(0, 4), (4, 64)], split.Update.Descriptors.Select(d => (d.StartShard, d.EndShard)));
        Assert.Equal(new RangeId(7), left.Id);
        Assert.Equal(RangeId.Derive(new RangeId(7), 5, 4), right.Id);
        Assert.All(split.Update.Descriptors, d =>
        {
            Assert.Equal(5, d.Generation);
            Assert.Equal<NodeId>([N(2), N(3), N(1)], d.Replicas);
            Assert.Equal((Now, N(2)), (d.Timestamp, d.Proposer));
        });

        RangeChange? elsewhere = Check.Check(entry, sizes, N(3), Now);
        Assert.NotNull(elsewhere);
        Assert.Equal(split.Update.Descriptors.Select(d => d.Id), elsewhere.Update.Descriptors.Select(d => d.Id));
    }
}
