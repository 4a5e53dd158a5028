using StemeDb.Cluster.Membership;
using StemeDb.Contracts.Wire;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary><c>/v1/cluster/events</c> in front of real node apps without Dapr (direct adapter, real UDP SWIM).</summary>
[Collection(LoopbackClusters.Name)]
public sealed class ClusterEventStreamTests
{
    [Fact]
    public async Task A_client_sees_a_node_join_and_a_killed_node_die_as_they_happen_and_resumes_without_loss_or_duplicates()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await Poll.UntilAsync(() => Enumerable.Range(0, 3).All(i => cluster.Node(i).IsReady && cluster.Node(i).Swim.ActiveMemberCount == 3), TimeSpan.FromSeconds(30), "three nodes see each other");
        // Pulls a minute apart: only a timely source (a node's stream of its SWIM changes) brings the
        // changes below within the limits.
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls, new() { ["Gateway:RefreshInterval"] = "00:01:00" });
        await gateway.WaitReadyAsync();

        await using SseClient first = await SseClient.ConnectAsync(gateway.Url);
        await first.NextAsync(e => e.Data.MemberId == "stemedb-node-3", TimeSpan.FromSeconds(20));

        await cluster.AddNodeAsync();
        SseEvent joined = await first.NextAsync(e => e.Data.MemberId == "stemedb-node-4", TimeSpan.FromSeconds(30));
        Assert.Equal((MembershipEventTypes.Joined, "alive"), (joined.Type, joined.Data.State));

        // Disconnect; meanwhile a node is killed; resume after the last id seen.
        ulong last = first.Seen[^1].Id;
        List<string> before = [.. first.Seen.Select(e => e.Data.Key)];
        await first.DisposeAsync();
        await cluster.KillAsync(1);
        await using SseClient resumed = await SseClient.ConnectAsync(gateway.Url, last);
        SseEvent dead = await resumed.NextAsync(e => e.Data.MemberId == "stemedb-node-2" && e.Data.State == "dead", TimeSpan.FromSeconds(40));
        Assert.Equal(MembershipEventTypes.Dead, dead.Type);
        Assert.All(resumed.Seen, e => Assert.True(e.Id > last));
        Assert.Empty(resumed.Seen.Select(e => e.Data.Key).Intersect(before)); // no duplicates across the reconnect
        Assert.Equal(resumed.Seen.Count, resumed.Seen.Select(e => e.Data.Key).Distinct().Count());
        Assert.DoesNotContain(resumed.Seen, e => e.Data.ObservedBy == "gateway"); // a resumption, not the view again

        // Nothing lost: a fresh view agrees with what the resumed client pieced together.
        var pieced = new Dictionary<string, MemberDto>();
        foreach (SseEvent e in first.Seen.Concat(resumed.Seen).Where(e => e.Data.Member.Supersedes(pieced.GetValueOrDefault(e.Data.MemberId))))
        {
            pieced[e.Data.MemberId] = e.Data.Member;
        }

        await using SseClient fresh = await SseClient.ConnectAsync(gateway.Url);
        List<SseEvent> view = await fresh.DrainAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(view.Select(e => e.Data.Key).Order(), pieced.Values.Select(MembershipEventDto.KeyOf).Order());
        Assert.Equal(NodeState.Dead, cluster.Node(0).Swim.Find(new NodeId("stemedb-node-2"))?.State);
    }
}
