using StemeDb.Contracts.Wire;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Storage;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>Range leaders at work on loopback nodes: re-replication, split, merge, anti-entropy.</summary>
[Collection(LoopbackClusters.Name)]
public sealed class RangeWorkTests
{
    private static NodeId Id(int i) => new($"stemedb-node-{i}");

    private static async Task<NodeCluster> Start(int nodes, Dictionary<string, string?>? extra = null)
    {
        NodeCluster cluster = await NodeCluster.StartAsync(nodes, extra);
        await Poll.UntilAsync(() => Enumerable.Range(0, nodes).All(i => cluster.Node(i).IsReady && cluster.Node(i).Swim.ActiveMemberCount == nodes), TimeSpan.FromSeconds(20), "all nodes see each other");
        return cluster;
    }

    private static RocksDbAssertionStore Store(NodeCluster cluster, int i) => cluster.Apps[i]!.Services.GetRequiredService<RocksDbAssertionStore>();

    [Fact]
    public async Task A_dead_replica_is_replaced_and_the_new_one_is_filled_before_it_serves()
    {
        await using NodeCluster cluster = await Start(4);
        using var client = new RoutingClient(cluster, 4);
        var ids = new List<(string Subject, string Id)>();
        for (int i = 0; i < 100; i++)
        {
            ids.Add(($"acct:{i}", (await client.WriteAsync($"acct:{i}", "balance", "10"))!));
        }

        await cluster.KillAsync(2); // node-3, a follower
        int[] survivors = [0, 1, 3];
        await Poll.UntilAsync(
            () => survivors.All(n => cluster.Node(n).Table.Current.Entries.All(e => e.Descriptor.Replicas.Contains(Id(4)) && !e.Descriptor.Replicas.Contains(Id(3)))),
            TimeSpan.FromSeconds(30),
            "every survivor routes to node-4 instead of node-3");

        // node-4 holds every write, on its own disk (not a quorum read).
        foreach ((string subject, string id) in ids)
        {
            Assert.Contains(Store(cluster, 3).Read(subject), s => s.Assertion.Id.ToString() == id);
        }

        // And writes go on, acknowledged by the new replica set.
        Assert.NotNull(await client.WriteAsync("acct:after", "balance", "5"));
    }

    [Fact]
    public async Task A_range_that_grows_past_the_threshold_splits_under_concurrent_writes_and_nothing_is_lost()
    {
        await using NodeCluster cluster = await Start(3, new()
        {
            ["Cluster:Sharding:SplitThresholdBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:Sharding:MergeThresholdBytes"] = (256 << 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:Sharding:StrandedRangeBytes"] = "0",
        });
        using var client = new RoutingClient(cluster, 3);
        string payload = JsonSerializer.Serialize(new string('x', 900));
        var acknowledged = new List<(string Subject, string Id)>();
        int failed = 0;
        for (int i = 0; i < 1600 && (i < 1300 || cluster.Node(0).Table.Current.Entries.Length < 2); i++)
        {
            string subject = $"doc:{i}";
            string? id = await client.WriteAsync(subject, "body", payload);
            if (id is null)
            {
                failed++;
            }
            else
            {
                acknowledged.Add((subject, id));
            }
        }

        Assert.Equal(0, failed);
        await Poll.UntilAsync(() => Enumerable.Range(0, 3).All(n => cluster.Node(n).Table.Current.Entries.Length >= 2), TimeSpan.FromSeconds(15), "every node sees the split");
        Assert.All(cluster.Node(0).Table.Current.Entries, e => Assert.True(e.Descriptor.Generation >= 1));
        foreach ((string subject, string id) in acknowledged)
        {
            Assert.Contains(await client.ReadAsync(Id(2), subject, quorum: true), a => a.Id == id);
        }
    }

    [Fact]
    public async Task Two_small_ranges_with_the_same_replicas_merge()
    {
        await using NodeCluster cluster = await Start(3, new() { ["Cluster:Sharding:MergeCooldown"] = "00:00:01" });
        // Split the empty genesis range by hand, as an older leader might have.
        RangeDescriptor genesis = cluster.Node(0).Table.Current.Entries[0].Descriptor;
        var now = cluster.Node(0).Clock.Now();
        await cluster.ProposeAsync(0, RangeChangeKind.Split, [genesis], [
            new RangeDescriptor(genesis.Id, 0, 100, genesis.Replicas, 1, now, Id(1)),
            new RangeDescriptor(RangeId.Derive(genesis.Id, 1, 100), 100, NodeCluster.Shards, genesis.Replicas, 1, now, Id(1))]);
        Assert.Equal(2, cluster.Node(0).Table.Current.Entries.Length);

        await Poll.UntilAsync(() => Enumerable.Range(0, 3).All(n => cluster.Node(n).Table.Current.Entries.Length == 1 && cluster.Node(n).Table.Current.Entries[0].Descriptor.Generation == 2), TimeSpan.FromSeconds(20), "the halves merge again everywhere");
    }

    [Fact]
    public async Task A_replica_that_missed_writes_catches_up_by_anti_entropy()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        // A leader's write that reached node-1 and node-2 but not node-3 (as in a partition).
        var missed = new List<AssertionDto>();
        for (int i = 0; i < 20; i++)
        {
            var a = new Assertion($"missed:{i}", "p", JsonDocument.Parse("1").RootElement, null, null, cluster.Node(0).Clock.Now());
            missed.Add(AssertionDto.From(a));
        }

        RangeDescriptor genesis = cluster.Node(0).Table.Current.Entries[0].Descriptor;
        foreach (NodeId target in new[] { Id(1), Id(2) })
        {
            using HttpResponseMessage response = await client.ReplicateAsync(target, missed, genesis);
            response.EnsureSuccessStatusCode();
        }

        Assert.Empty(Store(cluster, 2).Read("missed:0"));
        await Poll.UntilAsync(() => missed.All(m => Store(cluster, 2).Read(m.Subject).Any(s => s.Assertion.Id.ToString() == m.Id)), TimeSpan.FromSeconds(15), "node-3 has every missed write");
    }

    [Fact]
    public async Task A_fourth_node_joining_takes_over_ranges_and_only_those_ranges_move()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        RangeDescriptor genesis = cluster.Node(0).Table.Current.Entries[0].Descriptor;
        var now = cluster.Node(0).Clock.Now();
        int width = NodeCluster.Shards / 8;
        await cluster.ProposeAsync(0, RangeChangeKind.Split, [genesis], [.. Enumerable.Range(0, 8).Select(r =>
            new RangeDescriptor(r == 0 ? genesis.Id : RangeId.Derive(genesis.Id, 1, r * width), r * width, (r + 1) * width, genesis.Replicas, 1, now, Id(1)))]);
        await Poll.UntilAsync(() => Enumerable.Range(0, 3).All(n => cluster.Node(n).Table.Current.Entries.Length == 8), TimeSpan.FromSeconds(15), "eight ranges everywhere");
        var written = new List<(string Subject, string Id)>();
        for (int i = 0; i < 200; i++)
        {
            written.Add(($"item:{i}", (await client.WriteAsync($"item:{i}", "v", "1"))!));
        }

        await cluster.AddNodeAsync();
        await Poll.UntilAsync(
            () => Enumerable.Range(0, 4).All(n => cluster.Node(n).Table.Current.Entries.Count(e => e.Descriptor.Replicas.Contains(Id(4))) == 6),
            TimeSpan.FromSeconds(30),
            "node-4 replicates 6 of the 8 ranges everywhere");

        MetaRangeEntry[] entries = [.. cluster.Node(3).Table.Current.Entries];
        Assert.Equal(2, entries.Count(e => e.Descriptor.Generation == 1)); // untouched ranges kept their descriptor
        RocksDbAssertionStore newcomer = Store(cluster, 3);
        foreach ((string subject, string id) in written)
        {
            int shard = newcomer.ShardOf(subject);
            bool mine = entries.Single(e => e.Contains(shard)).Descriptor.Replicas.Contains(Id(4));
            // node-4 holds exactly the data of the ranges it took over.
            await Poll.UntilAsync(() => newcomer.Read(subject).Any(s => s.Assertion.Id.ToString() == id) == mine, TimeSpan.FromSeconds(10), $"{subject} on node-4: {mine}");
        }
    }

    [Fact]
    public async Task A_replica_cut_off_while_writes_went_on_catches_up_when_it_is_back()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        await cluster.KillAsync(2); // node-3 is cut off; with no fourth node it stays listed, so writes need 2 of 3
        var written = new List<(string Subject, string Id)>();
        for (int i = 0; i < 50; i++)
        {
            written.Add(($"while-away:{i}", (await client.WriteAsync($"while-away:{i}", "p", "1"))!));
        }

        Assert.All(written, w => Assert.NotNull(w.Id));
        await cluster.RestartAsync(2); // same id, ports and data directory: the partition heals
        await Poll.UntilAsync(() => cluster.Node(0).Swim.Find(Id(3))?.State == NodeState.Alive, TimeSpan.FromSeconds(20), "node-1 sees node-3 alive again");
        await Poll.UntilAsync(
            () => written.All(w => Store(cluster, 2).Read(w.Subject).Any(s => s.Assertion.Id.ToString() == w.Id)),
            TimeSpan.FromSeconds(20),
            "node-3 has every write made while it was away, on its own disk");
    }
}
