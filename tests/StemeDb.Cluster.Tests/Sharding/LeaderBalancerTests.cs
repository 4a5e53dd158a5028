using CsCheck;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Sharding;

/// <summary>Leadership balanced by count and by load, as reorders of replica lists, without ping-pong.</summary>
public class LeaderBalancerTests
{
    private const int Shards = 256;
    // Merges off (no threshold, no stranded size, a byte in every shard), so that only leadership moves.
    private static readonly ShardingConfig Config = new() { ShardCount = Shards, MergeThresholdBytes = 0, StrandedRangeBytes = 0 };
    private static readonly RangeManager Manager = new(Config);
    private static readonly ShardSizes NoSizes = new([.. Enumerable.Repeat(1L, Shards)]);

    private static NodeId N(int i) => new($"node-{i}");

    private static Func<RangeDescriptor, TimeSpan> Old => _ => TimeSpan.FromHours(1);

    /// <summary>Plans and applies every proposal of every leader (replica moves included) until nothing is left to do; returns the steps.</summary>
    private static int Settle(MetaRange table, HashSet<NodeId> live, Func<RangeDescriptor, TimeSpan> age, LoadView? load = null, int limit = 500)
    {
        for (int step = 0; step < limit; step++)
        {
            RangePlan plan = Manager.Plan(table.Current, NoSizes, live, N(0), new HlcTimestamp(1_000_000 + step, 0), age, onlyLedByProposer: false, load);
            if (plan.IsEmpty)
            {
                return step;
            }

            table.Apply(plan.Changes.SelectMany(m => m.Update.Descriptors));
        }

        throw new InvalidOperationException("leadership never settled");
    }

    private static Dictionary<NodeId, int> Leads(MetaRange table, HashSet<NodeId> live) =>
        live.ToDictionary(n => n, n => table.Current.Descriptors().Count(d => d.Replicas.First(live.Contains) == n));

    [Fact]
    public void Converges_from_any_starting_table_to_every_leader_within_one_of_each_of_its_replicas()
    {
        Gen.Select(Gen.Int[2, 7], Gen.Int[1, 40], Gen.Int).Sample((nodes, ranges, seed) =>
        {
            var random = new Random(seed);
            NodeId[] all = [.. Enumerable.Range(1, nodes).Select(N)];
            var descriptors = new List<RangeDescriptor>();
            for (int r = 0; r < ranges; r++)
            {
                NodeId[] replicas = [.. all.OrderBy(_ => random.Next()).Take(Math.Min(3, nodes))];
                descriptors.Add(new RangeDescriptor(new RangeId((ulong)r + 1), r * Shards / ranges, (r + 1) * Shards / ranges, [.. replicas], 0, HlcTimestamp.Zero, all[0]));
            }

            var table = new MetaRange(Shards, descriptors);
            HashSet<NodeId> live = [.. all];
            Settle(table, live, Old);

            Dictionary<NodeId, int> leads = Leads(table, live);
            foreach (RangeDescriptor d in table.Current.Descriptors())
            {
                NodeId leader = d.Replicas[0];
                Assert.All(d.Replicas.Skip(1), r => Assert.True(leads[leader] < leads[r] + 2, $"{leader} leads {leads[leader]}, its replica {r} {leads[r]}"));
            }

            Assert.Equal(ranges, leads.Values.Sum());
        }, iter: 500);
    }

    [Fact]
    public void A_joining_node_takes_its_share_of_leaders_once_it_holds_replicas()
    {
        // A fresh three-node cluster (24 ranges, 8 led by each), then node-4's replicas arrive: it leads its share.
        NodeId[] founders = [N(1), N(2), N(3)];
        var table = new MetaRange(Shards, GenesisTable.Create(Shards, founders, 3, 0));
        HashSet<NodeId> live = [.. founders, N(4)];
        for (int step = 0; step < 100; step++)
        {
            RangePlan plan = Manager.Plan(table.Current, NoSizes, live, N(1), new HlcTimestamp(step + 1, 0), Old, onlyLedByProposer: false);
            if (plan.IsEmpty)
            {
                break;
            }

            table.Apply(plan.Changes.SelectMany(c => c.Update.Descriptors));
        }

        Dictionary<NodeId, int> leads = Leads(table, live);
        Assert.Equal(24, leads.Values.Sum());
        Assert.True(leads.Values.Max() - leads.Values.Min() <= 1, $"leaders per node: {string.Join(", ", leads.Select(kv => $"{kv.Key} {kv.Value}"))}");
    }

    [Fact]
    public void Leadership_follows_load_away_from_a_hot_node_and_never_ping_pongs()
    {
        // Four nodes, 32 ranges; every 30 s the load moves around at random, with one node at a time much
        // hotter than the rest. A range whose leader moved stays put for the cooldown (2 minutes).
        var random = new Random(14);
        NodeId[] nodes = [N(1), N(2), N(3), N(4)];
        var table = new MetaRange(Shards, GenesisTable.Create(Shards, nodes, 3, 32));
        HashSet<NodeId> live = [.. nodes];
        var changedAt = new Dictionary<RangeId, TimeSpan>();
        var leaderHistory = new Dictionary<RangeId, List<(TimeSpan At, NodeId Leader)>>();
        TimeSpan clock = TimeSpan.Zero;
        int loadMoves = 0;
        for (int round = 0; round < 200; round++)
        {
            clock += TimeSpan.FromSeconds(30);
            // A random hot node, and random rates per shard that make it so.
            NodeId hot = nodes[random.Next(nodes.Length)];
            double[] rates = new double[Shards];
            foreach (MetaRangeEntry e in table.Current.Entries)
            {
                double perShard = (e.Descriptor.Replicas[0] == hot ? 40 : 5) * random.NextDouble() / e.ShardCount;
                for (int s = e.StartShard; s < e.EndShard; s++)
                {
                    rates[s] = perShard;
                }
            }

            var shardLoad = new ShardLoad(rates);
            var nodeRates = nodes.ToDictionary(n => n, n => table.Current.Entries.Where(e => e.Descriptor.Replicas[0] == n).Sum(e => shardLoad.Of(e.StartShard, e.EndShard)));
            TimeSpan now = clock;
            Func<RangeDescriptor, TimeSpan> age = d => changedAt.TryGetValue(d.Id, out TimeSpan at) ? now - at : TimeSpan.FromHours(1);
            foreach (NodeId proposer in nodes)
            {
                RangePlan plan = Manager.Plan(table.Current, NoSizes, live, proposer, new HlcTimestamp((long)now.TotalMilliseconds, 0), age, onlyLedByProposer: true, new LoadView(shardLoad, nodeRates));
                foreach (RangeChange change in plan.Changes.Where(c => c.Kind == RangeChangeKind.Reorder))
                {
                    RangeDescriptor next = change.Update.Descriptors[0];
                    loadMoves += change.Reason.StartsWith("load", StringComparison.Ordinal) ? 1 : 0;
                    table.Apply(next);
                    changedAt[next.Id] = now;
                    (leaderHistory.TryGetValue(next.Id, out var history) ? history : leaderHistory[next.Id] = []).Add((now, next.Replicas[0]));
                }
            }
        }

        Assert.True(loadMoves > 10, $"only {loadMoves} leadership moves by load in 200 rounds");
        foreach ((RangeId id, List<(TimeSpan At, NodeId Leader)> history) in leaderHistory)
        {
            for (int i = 1; i < history.Count; i++)
            {
                Assert.True(history[i].At - history[i - 1].At >= TimeSpan.FromMinutes(2), $"range {id} changed leader at {history[i - 1].At} and again at {history[i].At}");
            }
        }
    }
}
