using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;
using StemeDb.Storage;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>
/// What "nothing acknowledged is ever lost" asks of the node on loopback: quorums counted against a
/// descriptor's listed replicas, new replicas filled from a majority, a cluster's identity and its clocks.
/// Anti-entropy is slowed down to ten minutes in these tests, so that it cannot repair what the rule under
/// test has to get right by itself.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class SafetyTests
{
    private static readonly Dictionary<string, string?> NoAntiEntropy = new() { ["Node:AntiEntropyInterval"] = "00:10:00" };

    private static NodeId Id(int i) => new($"stemedb-node-{i}");

    private static RocksDbAssertionStore Store(NodeCluster cluster, int i) => cluster.Apps[i]!.Services.GetRequiredService<RocksDbAssertionStore>();

    private static async Task<NodeCluster> Start(int nodes, Dictionary<string, string?>? extra = null)
    {
        NodeCluster cluster = await NodeCluster.StartAsync(nodes, extra ?? NoAntiEntropy);
        await Poll.UntilAsync(() => Enumerable.Range(0, nodes).All(i => cluster.Node(i).IsReady && cluster.Node(i).Swim.ActiveMemberCount == nodes), TimeSpan.FromSeconds(20), $"{nodes} nodes see each other");
        return cluster;
    }

    private static async Task<List<(string Subject, string Id)>> WriteAsync(RoutingClient client, string prefix, int count)
    {
        var written = new List<(string, string)>();
        for (int i = 0; i < count; i++)
        {
            string subject = $"{prefix}:{i}";
            string? id = await client.WriteAsync(subject, "p", i.ToString(CultureInfo.InvariantCulture));
            Assert.NotNull(id);
            written.Add((subject, id));
        }

        return written;
    }

    [Fact]
    public async Task With_two_of_three_replicas_dead_the_survivor_refuses_reads_instead_of_answering_alone()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        List<(string Subject, string Id)> written = await WriteAsync(client, "lonely", 5);
        await cluster.KillAsync(1);
        await cluster.KillAsync(2);

        for (int i = 0; i < 20; i++)
        {
            using HttpResponseMessage read = await client.QueryAsync(Id(1), written[i % written.Count].Subject);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
            string body = await read.Content.ReadAsStringAsync();
            Assert.Contains("Read quorum not reached", body);
            Assert.Contains("Answered by 1 of 3 replicas; 2 are needed", body);
        }

        // A retraction needs a majority read first, so it is refused too.
        using HttpResponseMessage retract = await client.RetractAsync(Id(1), written[0].Subject, written[0].Id);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, retract.StatusCode);
    }

    [Fact]
    public async Task A_leader_back_after_missing_writes_fills_a_new_replica_from_the_majority_not_from_itself()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 4);
        List<(string Subject, string Id)> written = await WriteAsync(client, "before", 10);

        // node-1 (the leader) goes away; node-2 and node-3 acknowledge 30 writes it never sees.
        await cluster.KillAsync(0);
        written.AddRange(await WriteAsync(client, "missed", 30));
        await cluster.RestartAsync(0);
        await Poll.UntilAsync(() => Enumerable.Range(0, 3).All(i => cluster.Node(i).Swim.ActiveMemberCount == 3), TimeSpan.FromSeconds(20), "node-1 is back");
        Assert.DoesNotContain(Store(cluster, 0).Read("missed:0"), _ => true); // it really missed them

        // A fourth node joins and node-3 dies: node-1 leads again and replaces node-3 with node-4.
        await cluster.AddNodeAsync();
        await Poll.UntilAsync(() => cluster.Node(0).Swim.ActiveMemberCount == 4, TimeSpan.FromSeconds(20), "node-4 joined");
        await cluster.KillAsync(2);
        await Poll.UntilAsync(
            () => cluster.Node(0).Table.Current.Entries.All(e => e.Descriptor.Replicas.Contains(Id(4)) && !e.Descriptor.Replicas.Contains(Id(3))),
            TimeSpan.FromSeconds(30),
            "node-4 replaces node-3");

        // The new replica was filled from the union of a majority of the old replicas: it holds all 40.
        foreach ((string subject, string id) in written)
        {
            Assert.Contains(Store(cluster, 3).Read(subject), s => s.Assertion.Id.ToString() == id);
        }

        // With node-2 gone too, node-1 and node-4 are a majority of [1, 2, 4] and still answer everything.
        await cluster.KillAsync(1);
        foreach ((string subject, string id) in written)
        {
            Assert.Contains(await client.ReadAsync(Id(1), subject, quorum: true), a => a.Id == id);
        }
    }

    [Fact]
    public async Task A_replica_move_landing_in_the_middle_of_a_multi_range_batch_never_lets_the_batch_be_acknowledged_short()
    {
        // Two ranges on [1, 2, 3]. A batch over both goes to node-1, whose calls to its peers are held back;
        // meanwhile node-2 moves node-1's replica of the second range to node-4. Then node-1's calls to
        // node-2 go through and those to node-3 and node-4 stay held: had node-1 counted its own copy at
        // the old generation, plus node-2's, it would acknowledge writes that only node-2 of the new
        // replicas [2, 3, 4] holds. Range work is off (the test makes the changes); replicas wait 10 s.
        var hold = new HeldCalls();
        await using NodeCluster cluster = await NodeCluster.StartAsync(
            4,
            new(NoAntiEntropy) { ["Node:RangeCheckInterval"] = "00:10:00", ["Node:ReplicaTimeout"] = "00:00:10" },
            perNodeServices: i => i == 0 ? hold.Install : null);
        await Poll.UntilAsync(() => Enumerable.Range(0, 4).All(i => cluster.Node(i).IsReady && cluster.Node(i).Swim.ActiveMemberCount == 4), TimeSpan.FromSeconds(20), "four nodes see each other");
        using var client = new RoutingClient(cluster, 3);
        await cluster.SplitGenesisInHalfAsync();
        int half = NodeCluster.Shards / 2;
        RangeDescriptor second = cluster.Node(1).Table.Current.Entries[1].Descriptor;

        string[] subjects = [.. Enumerable.Range(0, 200).Select(i => $"batch:{i}")];
        Assert.Contains(subjects, s => cluster.Node(0).Router.Route(s).Entry.StartShard == 0);
        Assert.Contains(subjects, s => cluster.Node(0).Router.Route(s).Entry.StartShard == half);
        hold.Held = uri => true;
        using var patient = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        Task<HttpResponseMessage> batch = patient.PostAsJsonAsync(new Uri(cluster.Urls[0], InternalRoutes.Write), new WriteRequest([.. subjects.Select(s => new AssertionInput(s, "p", JsonDocument.Parse("1").RootElement, null, null))]));
        await Poll.UntilAsync(() => hold.Waiting > 0, TimeSpan.FromSeconds(10), "node-1 sent the batch on");

        var moved = new RangeDescriptor(second.Id, second.StartShard, second.EndShard, [Id(2), Id(3), Id(4)], second.Generation + 1, cluster.Node(1).Clock.Now(), Id(2));
        await cluster.ProposeAsync(1, RangeChangeKind.Replicate, [second], [moved]);
        hold.Held = uri => uri.Port == cluster.Urls[2].Port || uri.Port == cluster.Urls[3].Port;
        if (await Task.WhenAny(batch, Task.Delay(TimeSpan.FromSeconds(3))) == batch && (await batch).IsSuccessStatusCode)
        {
            // Acknowledged while node-3 and node-4 still wait for it: it must be on a majority of the replicas as they are now.
            foreach (string subject in subjects)
            {
                RangeDescriptor range = cluster.Node(1).Table.Current.Find(cluster.Node(1).Router.Route(subject).Shard).Descriptor;
                int holding = range.Replicas.Count(r => Store(cluster, Index(r)).Read(subject).Count == 1);
                Assert.True(holding >= 2, $"{subject} was acknowledged but is held by {holding} of its replicas [{string.Join(", ", range.Replicas)}]");
            }
        }

        hold.Held = _ => false;
        using HttpResponseMessage answer = await batch;
        Assert.True(answer.StatusCode is HttpStatusCode.OK or HttpStatusCode.MisdirectedRequest or HttpStatusCode.ServiceUnavailable, $"node-1 answered {(int)answer.StatusCode}");

        // As a gateway would: send what was not acknowledged again; then every subject is on a majority.
        foreach (string subject in subjects)
        {
            Assert.NotNull(await client.WriteAsync(subject, "p", "1"));
        }

        foreach (string subject in subjects)
        {
            RangeDescriptor range = cluster.Node(1).Table.Current.Find(cluster.Node(1).Router.Route(subject).Shard).Descriptor;
            Assert.True(range.Replicas.Count(r => Store(cluster, Index(r)).Read(subject).Count == 1) >= 2, $"{subject} is not on a majority of [{string.Join(", ", range.Replicas)}]");
        }
    }

    private static int Index(NodeId node) => int.Parse(node.Value["stemedb-node-".Length..], CultureInfo.InvariantCulture) - 1;

    [Fact]
    public async Task A_retraction_held_only_by_replicas_that_miss_the_assertion_still_retracts_it_in_a_majority_read()
    {
        // Found by the container suite (a rolling restart): the assertion on node-1 and node-2, its
        // acknowledged retraction on node-1 and node-3 (a majority each). A read from node-2 and node-3 must
        // show it retracted, although node-3 holds the tombstone without the assertion it names.
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        RangeDescriptor range = cluster.Node(0).Table.Current.Entries[0].Descriptor;
        var assertion = new StemeDb.Contracts.Assertion("split:1", "p", JsonDocument.Parse("1").RootElement, null, null, cluster.Node(0).Clock.Now());
        var retraction = new Retraction(assertion.Subject, assertion.Id, cluster.Node(0).Clock.Now());
        foreach (int node in new[] { 1, 2 })
        {
            using HttpResponseMessage stored = await client.ReplicateAsync(Id(node), [AssertionDto.From(assertion)], range);
            stored.EnsureSuccessStatusCode();
        }

        foreach (int node in new[] { 1, 3 })
        {
            using HttpResponseMessage stored = await client.ReplicateAsync(Id(node), [], range, [RetractionDto.From(retraction)]);
            stored.EnsureSuccessStatusCode();
        }

        await cluster.KillAsync(0);
        Assert.Empty(await client.ReadAsync(Id(2), assertion.Subject, quorum: true));
        Assert.Empty(await client.ReadAsync(Id(3), assertion.Subject, quorum: true));
        Assert.NotNull(Assert.Single(await client.ReadAsync(Id(3), assertion.Subject, quorum: true, history: true)).RetractedAt);
    }

    [Fact]
    public async Task A_retraction_of_an_assertion_the_coordinator_missed_is_found_by_a_majority_read()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        await cluster.KillAsync(0);
        (string subject, string id) = (await WriteAsync(client, "missed-by-one", 1))[0];
        await cluster.RestartAsync(0);
        await Poll.UntilAsync(() => cluster.Node(0).IsReady && cluster.Node(0).Swim.ActiveMemberCount == 3, TimeSpan.FromSeconds(20), "node-1 is back");
        Assert.Empty(Store(cluster, 0).Read(subject));

        using HttpResponseMessage retract = await client.RetractAsync(Id(1), subject, id);
        Assert.Equal(HttpStatusCode.OK, retract.StatusCode);
        Assert.Empty(await client.ReadAsync(Id(3), subject, quorum: true));
        Assert.NotNull(Assert.Single(await client.ReadAsync(Id(2), subject, quorum: true, history: true)).RetractedAt);
    }

    [Fact]
    public void A_node_started_with_seeds_but_without_the_genesis_is_refused_at_start()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cluster:NodeId"] = "stemedb-node-4",
            ["Cluster:Swim:Seeds:0"] = "127.0.0.1:7946",
            ["Storage:DataDirectory"] = Path.Combine(Path.GetTempPath(), "stemedb-nogenesis-" + Guid.NewGuid().ToString("N")),
        };
        ClusterConfigException refused = Assert.Throws<ClusterConfigException>(() => NodeApp.Build([], c => c.AddInMemoryCollection(settings)));
        Assert.Contains("Node:Genesis must be set when Cluster:Swim:Seeds are", refused.Message);
    }

    [Fact]
    public async Task A_node_of_another_cluster_is_refused_at_join_and_its_table_never_enters_ours()
    {
        await using NodeCluster cluster = await Start(3);
        RangeDescriptor ours = cluster.Node(0).Table.Current.Entries[0].Descriptor;

        // The same SWIM key, seeded with node-1, but founded by itself: another cluster. Its join gets no answer.
        var foreign = new Dictionary<string, string?>
        {
            ["Cluster:NodeId"] = "stemedb-node-9",
            ["Cluster:Swim:JoinTimeout"] = "00:00:03",
            ["Node:Genesis:0"] = "stemedb-node-9",
            ["Node:Genesis:1"] = null,
            ["Node:Genesis:2"] = null,
            ["Node:Genesis:3"] = null,
        };
        await Assert.ThrowsAsync<SwimJoinException>(() => cluster.AddNodeAsync(foreign));

        await Task.Delay(2000); // what it might have published or gossiped has had time to arrive
        Assert.True(cluster.Node(0).Swim.Stats.DroppedForeignCluster > 0, "the seed did not count the foreign datagrams");
        for (int i = 0; i < 3; i++)
        {
            Assert.DoesNotContain(cluster.Node(i).Swim.Members, m => m.Id.Value == "stemedb-node-9");
            Assert.Equal(ours, Assert.Single(cluster.Node(i).Table.Current.Entries).Descriptor);
        }

        // Its internal calls are refused as well: a table from another cluster is never merged.
        using var http = new HttpClient();
        var message = new MetaRangeDto(NodeCluster.Shards, [RangeDescriptorDto.From(ours with { })], "0123456789abcdef");
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(cluster.Urls[0], InternalRoutes.MetaRange)) { Content = JsonContent.Create(message) };
        post.Headers.Add(InternalHeaders.Cluster, "0123456789abcdef");
        using HttpResponseMessage refused = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Contains("another genesis", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_peer_clock_beyond_the_maximum_offset_is_refused_and_counted_and_one_within_it_is_observed()
    {
        await using NodeCluster cluster = await Start(3);
        using var http = new HttpClient();
        ClusterNode node = cluster.Node(0);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        HttpRequestMessage Call(HlcTimestamp clock)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri(cluster.Urls[0], InternalRoutes.MetaRange));
            request.Headers.Add(InternalHeaders.Cluster, node.ClusterId.ToString());
            request.Headers.Add(InternalHeaders.Sender, "stemedb-node-2");
            request.Headers.Add(InternalHeaders.Clock, clock.Packed.ToString(CultureInfo.InvariantCulture));
            return request;
        }

        using HttpResponseMessage ahead = await http.SendAsync(Call(new HlcTimestamp(now + 10_000, 0)));
        Assert.Equal(HttpStatusCode.PreconditionFailed, ahead.StatusCode);
        Assert.Contains("Clock too far ahead", await ahead.Content.ReadAsStringAsync());
        Assert.Equal(1, node.ClockRefusals);
        Assert.True(node.Clock.Last.WallMilliseconds < now + 5_000, "the refused reading moved the clock");

        var within = new HlcTimestamp(now + 300, 42);
        using HttpResponseMessage fine = await http.SendAsync(Call(within));
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
        Assert.True(node.Clock.Last > within, "the clock did not observe the peer's reading");
        Assert.Equal(1, node.ClockRefusals);
    }

    [Fact]
    public async Task A_node_restarted_with_its_clock_set_back_never_issues_a_timestamp_below_one_it_issued_before()
    {
        await using NodeCluster cluster = await Start(3);
        using var client = new RoutingClient(cluster, 3);
        List<(string Subject, string Id)> before = await WriteAsync(client, "tick", 20);
        HlcTimestamp last = cluster.Node(0).Clock.Now(); // node-1 led the writes: at least as late as every stamp it gave

        // Everyone stops; node-1 comes back alone with its clock 3 s behind, so there is no peer whose
        // clock it could observe: only what it stored before it stopped keeps it above what it issued.
        await cluster.KillAsync(0);
        await cluster.KillAsync(1);
        await cluster.KillAsync(2);
        await cluster.RestartAsync(0, services => services.AddSingleton<TimeProvider>(new ShiftedTime(TimeSpan.FromSeconds(-3))));
        Assert.True(cluster.Node(0).Time.GetUtcNow() < DateTimeOffset.UtcNow.AddSeconds(-2), "the restarted node does not run on the shifted clock");
        Assert.Equal(1, cluster.Node(0).Swim.ActiveMemberCount);

        HlcTimestamp first = cluster.Node(0).Clock.Now();
        Assert.True(first > last, $"the restarted node issued {first}, below {last} which it had issued before");
        Assert.Contains(Store(cluster, 0).Read(before[^1].Subject), s => s.Assertion.AssertedAt < first);
    }

    /// <summary>The system clock, shifted: a node whose clock was set back.</summary>
    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
    }
}
