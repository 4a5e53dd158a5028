using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class ReplicaCheckTests
{
    private static readonly ReplicaCheck Check = new(new ShardingConfig { ShardCount = 64 });
    private static readonly HlcTimestamp Now = new(5_000, 3);

    private static MetaRangeEntry Whole(params int[] replicas) => Assert.Single(Table(64, replicas).Current.Entries);

    private static RangeDescriptor Replicated(MetaRangeEntry entry, HashSet<NodeId> live)
    {
        RangeChange? change = Check.Check(entry, live, N(9), Now);
        Assert.NotNull(change);
        Assert.Equal(RangeChangeKind.Replicate, change.Kind);
        Assert.Equal(entry, Assert.Single(change.Replaces));
        return Assert.Single(change.Update.Descriptors);
    }

    [Fact]
    public void Live_replicas_as_many_as_the_factor_need_no_change_in_any_order()
    {
        HashSet<NodeId> live = [N(1), N(2), N(3), N(4)];
        Assert.Null(Check.Check(Whole(1, 2, 3), live, N(1), Now));
        Assert.Null(Check.Check(Whole(3, 1, 2), live, N(1), Now)); // a reorder alone would be churn
    }

    [Fact]
    public void The_new_descriptor_is_the_same_range_one_generation_on_signed_by_the_proposer_at_its_time()
    {
        MetaRangeEntry entry = Whole(1, 2, 3);
        RangeDescriptor next = Replicated(entry, [N(1), N(3), N(4)]);
        Assert.Equal((entry.Descriptor.Id, 0, 64), (next.Id, next.StartShard, next.EndShard));
        Assert.Equal(entry.Descriptor.Generation + 1, next.Generation);
        Assert.Equal((Now, N(9)), (next.Timestamp, next.Proposer));
        Assert.Equal<NodeId>([N(1), N(3), N(4)], next.Replicas);
    }

    [Fact]
    public void Replicas_beyond_the_factor_are_dropped_keeping_the_first_live_ones()
    {
        Assert.Equal<NodeId>([N(1), N(2), N(3)], Replicated(Whole(1, 2, 3, 4), [N(1), N(2), N(3), N(4)]).Replicas);
        Assert.Equal<NodeId>([N(1), N(3), N(4)], Replicated(Whole(1, 2, 3, 4), [N(1), N(3), N(4)]).Replicas);
    }

    [Fact]
    public void A_range_short_of_the_factor_is_filled_from_the_live_members_after_its_own()
    {
        RangeDescriptor next = Replicated(Whole(2), [N(1), N(2), N(3)]);
        Assert.Equal(N(2), next.Replicas[0]);
        Assert.Equal<NodeId>([N(1), N(2), N(3)], next.Replicas.Order());
    }
}
