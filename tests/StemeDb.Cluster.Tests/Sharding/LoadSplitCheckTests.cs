using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Sharding;

/// <summary>A range split by load where its load balances; a cold range, a young one and a single hot shard are not.</summary>
public class LoadSplitCheckTests
{
    private const int Shards = 64;
    private static readonly ShardingConfig Config = new() { ShardCount = Shards, SplitRequestRate = 1000 };
    private static readonly LoadSplitCheck Check = new(Config);
    private static readonly NodeId Proposer = new("node-1");
    private static readonly HlcTimestamp Now = new(1_000_000, 0);

    private static MetaRangeEntry Whole() =>
        new MetaRange(Shards, MetaRange.GenesisDescriptor(Shards, [new NodeId("node-1"), new NodeId("node-2"), new NodeId("node-3")], Proposer)).Current.Entries[0];

    private static ShardLoad Load(Func<int, double> rate) => new([.. Enumerable.Range(0, Shards).Select(rate)]);

    private static TimeSpan Old(RangeDescriptor d) => TimeSpan.FromHours(1);

    [Fact]
    public void A_hot_range_splits_at_the_boundary_that_balances_its_load()
    {
        // 1 200 req/s, three quarters of it on shards 0..15 (56.25 each): the balanced boundary is at shard 11 (619 | 581).
        RangeChange split = Assert.IsType<RangeChange>(Check.Check(Whole(), Load(s => s < 16 ? 900.0 / 16 : 300.0 / 48), Old, Proposer, Now));
        Assert.Equal(RangeChangeKind.Split, split.Kind);
        Assert.Equal(11, split.Update.Descriptors[0].EndShard);
        Assert.Equal(11, split.Update.Descriptors[1].StartShard);
        Assert.Contains("req/s", split.Reason);
    }

    [Fact]
    public void A_range_below_the_rate_a_young_range_and_a_single_hot_shard_do_not_split()
    {
        Assert.Null(Check.Check(Whole(), Load(_ => 999.0 / Shards), Old, Proposer, Now));
        Assert.Null(Check.Check(Whole(), Load(_ => 2000.0 / Shards), _ => TimeSpan.FromSeconds(30), Proposer, Now));
        // One shard carries 60 %: no boundary spreads that.
        Assert.Null(Check.Check(Whole(), Load(s => s == 40 ? 1200 : 800.0 / 63), Old, Proposer, Now));
    }

    [Fact]
    public void A_range_at_half_the_split_rate_is_not_merged_back()
    {
        var manager = new RangeManager(Config);
        var table = new MetaRange(Shards, MetaRange.GenesisDescriptor(Shards, [new NodeId("node-1"), new NodeId("node-2"), new NodeId("node-3")], Proposer));
        var replicas = table.Current.Entries[0].Descriptor.Replicas;
        table.Apply([new RangeDescriptor(RangeId.Genesis, 0, 32, replicas, 1, Now, Proposer), new RangeDescriptor(new RangeId(9), 32, 64, replicas, 1, Now, Proposer)]);
        HashSet<NodeId> live = [.. replicas];
        var sizes = new ShardSizes(new long[Shards]);
        var nodeRates = live.ToDictionary(n => n, _ => 0.0);

        RangePlan cold = manager.Plan(table.Current, sizes, live, Proposer, Now, Old, onlyLedByProposer: false, new LoadView(Load(_ => 1), nodeRates));
        Assert.Contains(cold.Changes, c => c.Kind == RangeChangeKind.Merge);
        RangePlan warm = manager.Plan(table.Current, sizes, live, Proposer, Now, Old, onlyLedByProposer: false, new LoadView(Load(s => s < 32 ? 500.0 / 32 : 1), nodeRates));
        Assert.DoesNotContain(warm.Changes, c => c.Kind == RangeChangeKind.Merge);
    }
}
