using StemeDb.Contracts.Wire;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>Three nodes on loopback, replication factor 3, direct adapter.</summary>
[Collection(LoopbackClusters.Name)]
public sealed class ReplicationTests
{
    private static readonly NodeId One = new("stemedb-node-1");
    private static readonly NodeId Two = new("stemedb-node-2");
    private static readonly NodeId Three = new("stemedb-node-3");

    private static async Task<NodeCluster> StartThree()
    {
        NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        return cluster;
    }

    [Fact]
    public async Task Writes_are_replicated_read_back_and_retracted_and_bad_or_misdirected_requests_are_refused()
    {
        await using NodeCluster cluster = await StartThree();
        using var client = new RoutingClient(cluster, 3);

        var ids = new Dictionary<string, string>();
        for (int i = 0; i < 30; i++)
        {
            string subject = $"user:{i}";
            ids[subject] = (await client.WriteAsync(subject, "name", $"\"n{i}\""))!;
            Assert.NotNull(ids[subject]);
        }

        // Every replica ends up with every write (the third one after the quorum answered).
        foreach (NodeId replica in new[] { One, Two, Three })
        {
            foreach ((string subject, string id) in ids)
            {
                await Poll.UntilAsync(async () => (await client.ReadAsync(replica, subject, quorum: false)).Any(a => a.Id == id), TimeSpan.FromSeconds(5), $"{subject} on {replica}");
            }
        }

        // Any replica coordinates: node-2, a follower of the genesis range, takes a write itself.
        using HttpResponseMessage viaFollower = await client.Http.PostAsJsonAsync(new Uri(client.UrlOf(Two), InternalRoutes.Write), new WriteRequest([new AssertionInput("s", "p", JsonDocument.Parse("1").RootElement, null, null)]));
        Assert.Equal(HttpStatusCode.OK, viaFollower.StatusCode);

        // A write routed at a generation the replica holds the range no more gets 421 and the descriptors.
        RangeDescriptor genesis = cluster.Node(1).Table.Current.Entries[0].Descriptor;
        await cluster.ProposeAsync(0, RangeChangeKind.Renew, [genesis], [new RangeDescriptor(genesis.Id, genesis.StartShard, genesis.EndShard, genesis.Replicas, genesis.Generation + 1, cluster.Node(0).Clock.Now(), One)]);
        using HttpResponseMessage wrongGeneration = await client.ReplicateAsync(Two, [AssertionDto.From(new StemeDb.Contracts.Assertion("s2", "p", JsonDocument.Parse("1").RootElement, null, null, cluster.Node(1).Clock.Now()))], genesis);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, wrongGeneration.StatusCode);
        using (JsonDocument problem = JsonDocument.Parse(await wrongGeneration.Content.ReadAsStringAsync()))
        {
            Assert.Equal(421, problem.RootElement.GetProperty("status").GetInt32());
            Assert.NotEmpty(problem.RootElement.GetProperty("descriptors").EnumerateArray());
        }

        // Bad input names the field.
        using HttpResponseMessage bad = await client.Http.PostAsJsonAsync(new Uri(client.UrlOf(One), InternalRoutes.Write), new WriteRequest([new AssertionInput("", "p", JsonDocument.Parse("1").RootElement, null, 7)]));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        string badBody = await bad.Content.ReadAsStringAsync();
        Assert.Contains("assertions[0].subject", badBody);
        Assert.Contains("assertions[0].confidence", badBody);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);

        // Retraction: gone from current reads everywhere, kept in history.
        string target = ids["user:3"];
        using HttpResponseMessage retract = await client.RetractAsync(One, "user:3", target);
        Assert.Equal(HttpStatusCode.OK, retract.StatusCode);
        Assert.Empty(await client.ReadAsync(Two, "user:3", quorum: true));
        Assert.NotNull((await client.ReadAsync(Two, "user:3", quorum: true, history: true)).Single().RetractedAt);
        using HttpResponseMessage unknown = await client.RetractAsync(One, "user:3", new string('0', 64));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Killing_the_leader_in_the_middle_of_a_stream_of_writes_loses_no_acknowledged_write()
    {
        await using NodeCluster cluster = await StartThree();
        using var client = new RoutingClient(cluster, 3);
        var acknowledged = new List<(string Subject, string Id)>();
        int failed = 0;
        for (int i = 0; i < 200; i++)
        {
            if (i == 60)
            {
                await cluster.KillAsync(0); // node-1 leads the only range
            }

            string subject = $"order:{i}";
            string? id = await client.WriteAsync(subject, "total", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (id is null)
            {
                failed++;
            }
            else
            {
                acknowledged.Add((subject, id));
            }
        }

        // The survivors took over: most writes after the kill were acknowledged too.
        Assert.True(acknowledged.Count >= 180, $"only {acknowledged.Count} of 200 writes acknowledged ({failed} failed)");
        Assert.True(acknowledged.Count(a => int.Parse(a.Subject["order:".Length..], System.Globalization.CultureInfo.InvariantCulture) >= 60) >= 120, "writes after the kill were not acknowledged");
        // Any replica coordinates, so the writes went on before SWIM declared node-1 dead; it does, in time.
        await Poll.UntilAsync(() => cluster.Node(1).Swim.Find(One)?.State == NodeState.Dead, TimeSpan.FromSeconds(15), "node-2 finds node-1 dead");

        // Every acknowledged write is on a quorum, so a quorum read from a survivor finds it.
        foreach ((string subject, string id) in acknowledged)
        {
            Assert.Contains(await client.ReadAsync(Two, subject, quorum: true), a => a.Id == id);
        }
    }

    [Fact]
    public async Task Without_a_write_quorum_a_write_is_refused_not_reported_stored()
    {
        await using NodeCluster cluster = await StartThree();
        using var client = new RoutingClient(cluster, 3);
        await cluster.KillAsync(1);
        await cluster.KillAsync(2);

        using HttpResponseMessage response = await client.Http.PostAsJsonAsync(
            new Uri(client.UrlOf(One), InternalRoutes.Write),
            new WriteRequest([new AssertionInput("lonely", "p", JsonDocument.Parse("1").RootElement, null, null)]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Stored on 1 of 3 replicas; 2 are needed", body);
    }
}
