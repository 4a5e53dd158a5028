using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class ReplicaCountsTests
{
    [Fact]
    public void Counts_live_members_only_and_each_descriptor_once_however_many_entries_it_wins()
    {
        MetaRange table = Table(64);
        table.Apply(D(1, 0, 64, 2, replicas: [1, 2, 3]));
        table.Apply(D(9, 20, 30, 3, replicas: [2, 3, 4])); // range 1 now wins [0, 20) and [30, 64)
        Assert.Equal(3, table.Current.Entries.Length);
        var counts = new ReplicaCounts(table.Current.Descriptors(), new HashSet<NodeId>([N(1), N(2), N(4), N(5)]));
        Assert.Equal([1, 2, 1, 0], new[] { 1, 2, 4, 5 }.Select(n => counts[N(n)]));
        Assert.Throws<KeyNotFoundException>(() => counts[N(3)]); // dead: not counted, nor a target
    }

    [Fact]
    public void Most_and_least_loaded_break_ties_by_the_lowest_id()
    {
        MetaRange table = Table(64, 3, 4, 5);
        var counts = new ReplicaCounts(table.Current.Descriptors(), new HashSet<NodeId>([N(5), N(4), N(3), N(2), N(1)]));
        Assert.Equal((N(3), N(1), 1), (counts.Most, counts.Least, counts.Spread));
    }

    [Fact]
    public void A_recorded_change_moves_its_replicas_counts()
    {
        MetaRange table = Table(64, 1, 2, 3);
        MetaRangeEntry entry = Assert.Single(table.Current.Entries);
        var counts = new ReplicaCounts(table.Current.Descriptors(), new HashSet<NodeId>([N(1), N(2), N(3), N(4)]));
        counts.Record(new RangeChange(RangeChangeKind.Replicate, [entry], new MetaRangeUpdate(D(1, 0, 64, 1, replicas: [4, 2, 3])), "test"));
        Assert.Equal([0, 1, 1, 1], new[] { 1, 2, 3, 4 }.Select(n => counts[N(n)]));
    }

    [Fact]
    public void Without_live_members_nothing_is_uneven()
    {
        Assert.Equal(0, new ReplicaCounts(Table(64).Current.Descriptors(), new HashSet<NodeId>()).Spread);
    }
}
