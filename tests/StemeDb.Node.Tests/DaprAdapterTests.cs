using StemeDb.Contracts.Wire;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Cluster.Membership;
using StemeDb.Dapr.Testing;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>
/// The Dapr adapter's app side, as Dapr.AspNetCore serves it: the subscription list the sidecar reads at
/// start, and CloudEvent deliveries with their SUCCESS / DROP answers. (Publishing through a sidecar is
/// exercised end to end against the stand-in of issue #6.)
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class DaprAdapterTests
{
    private static Task<NodeCluster> StartDaprNode(Uri? grpcEndpoint = null, int nodes = 1) =>
        NodeCluster.StartAsync(nodes, new()
        {
            ["Node:Transport"] = "Dapr",
            ["DAPR_GRPC_ENDPOINT"] = grpcEndpoint?.ToString() ?? "http://127.0.0.1:1",
            ["DAPR_HTTP_ENDPOINT"] = grpcEndpoint?.ToString() ?? "http://127.0.0.1:1",
        }, genesis: 1);

    [Fact]
    public async Task The_subscription_list_names_the_meta_range_topic_as_Dapr_AspNetCore_writes_it()
    {
        await using NodeCluster cluster = await StartDaprNode();
        using var http = new HttpClient { BaseAddress = cluster.Urls[0] };
        using JsonDocument subscriptions = JsonDocument.Parse(await http.GetStringAsync("/dapr/subscribe"));
        JsonElement entry = Assert.Single(subscriptions.RootElement.EnumerateArray());
        Assert.Equal("pubsub", entry.GetProperty("pubsubName").GetString());
        Assert.Equal("meta-range", entry.GetProperty("topic").GetString());
        Assert.Equal("events/meta-range", entry.GetProperty("route").GetString());
    }

    [Fact]
    public async Task A_CloudEvent_delivery_is_applied_once_however_often_it_comes_and_a_malformed_one_is_dropped()
    {
        await using NodeCluster cluster = await StartDaprNode();
        using var http = new HttpClient { BaseAddress = cluster.Urls[0] };
        ClusterNode node = cluster.Node(0);
        RangeDescriptorDto genesis = RangeDescriptorDto.From(node.Table.Current.Entries[0].Descriptor);
        ulong now = node.Clock.Now().Packed;
        var split = new MetaRangeDto(NodeCluster.Shards, [
            genesis with { EndShard = 100, Generation = 1, Timestamp = now },
            genesis with { Id = "00000000000000aa", StartShard = 100, Generation = 1, Timestamp = now }]);

        for (int delivery = 0; delivery < 3; delivery++) // at-least-once: duplicates are normal
        {
            Assert.Equal("SUCCESS", await Deliver(http, split));
            Assert.Equal(2, node.Table.Current.Entries.Length);
        }

        Assert.Equal("DROP", await Deliver(http, split with { ShardCount = 7 }));
        Assert.Equal("DROP", await Deliver(http, new MetaRangeDto(NodeCluster.Shards, [genesis with { StartShard = 50, EndShard = 10 }])));
        Assert.Equal(2, node.Table.Current.Entries.Length);
    }

    [Fact]
    public async Task Peers_are_addressed_by_app_id_through_the_sidecar()
    {
        await using NodeCluster cluster = await StartDaprNode();
        IClusterBus bus = cluster.Apps[0]!.Services.GetRequiredService<IClusterBus>();
        Assert.IsType<DaprClusterBus>(bus);
        NodeInfo self = cluster.Node(0).Swim.Self;
        Assert.Equal(new Uri("http://stemedb-node-1/"), bus.AddressOf(self));
    }

    private static async Task<string> Deliver(HttpClient http, MetaRangeDto data)
    {
        // The envelope daprd builds (CloudEvents 1.0), posted as application/cloudevents+json.
        var envelope = new
        {
            specversion = "1.0",
            id = Guid.NewGuid().ToString(),
            source = "stemedb-node-2",
            type = "com.dapr.event.sent",
            datacontenttype = "application/json",
            topic = "meta-range",
            pubsubname = "pubsub",
            data,
        };
        using var content = new StringContent(JsonSerializer.Serialize(envelope, JsonSerializerOptions.Web), Encoding.UTF8, "application/cloudevents+json");
        using HttpResponseMessage response = await http.PostAsync("/events/meta-range", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()!;
    }

    [Fact]
    public async Task A_meta_range_change_is_published_with_Dapr_Client_as_one_message_holding_every_descriptor()
    {
        await using StandInSidecar sidecar = await PublishingSidecar();
        await using NodeCluster cluster = await StartDaprNode(sidecar.GrpcEndpoint);
        ClusterNode node = cluster.Node(0);
        var genesis = node.Table.Current.Entries[0].Descriptor;
        var now = node.Clock.Now();
        await cluster.ProposeAsync(0, StemeDb.Cluster.Sharding.RangeChangeKind.Split, [genesis], [
            new StemeDb.Cluster.Sharding.RangeDescriptor(genesis.Id, 0, 100, genesis.Replicas, 1, now, genesis.Proposer),
            new StemeDb.Cluster.Sharding.RangeDescriptor(new StemeDb.Cluster.Sharding.RangeId(0xaa), 100, NodeCluster.Shards, genesis.Replicas, 1, now, genesis.Proposer)]);

        global::Dapr.Client.Autogen.Grpc.v1.PublishEventRequest published = Assert.Single(sidecar.Published);
        Assert.Equal("pubsub", published.PubsubName);
        Assert.Equal("meta-range", published.Topic);
        Assert.Equal("application/json", published.DataContentType);
        MetaRangeDto body = JsonSerializer.Deserialize<MetaRangeDto>(published.Data.Span, JsonSerializerOptions.Web)!;
        Assert.Equal(NodeCluster.Shards, body.ShardCount);
        Assert.Equal([(0, 100), (100, NodeCluster.Shards)], body.Descriptors.Select(d => (d.StartShard, d.EndShard)));
    }

    [Fact]
    public async Task Membership_changes_are_published_on_the_membership_topic()
    {
        await using StandInSidecar sidecar = await PublishingSidecar();
        await using NodeCluster cluster = await StartDaprNode(sidecar.GrpcEndpoint, nodes: 2);
        await Poll.UntilAsync(() => sidecar.Published.Any(p => p.Topic == "membership"), TimeSpan.FromSeconds(10), "a membership change is published", step: TimeSpan.FromMilliseconds(50));
        global::Dapr.Client.Autogen.Grpc.v1.PublishEventRequest joined = sidecar.Published.First(p => p.Topic == "membership");
        MembershipEventDto change = JsonSerializer.Deserialize<MembershipEventDto>(joined.Data.Span, JsonSerializerOptions.Web)!;
        Assert.Equal("joined", change.Kind);
        Assert.Equal("alive", change.State);
        Assert.Contains(change.MemberId, new[] { "stemedb-node-1", "stemedb-node-2" });
        Assert.NotEqual(change.MemberId, change.ObservedBy);
        Assert.StartsWith("http://127.0.0.1:", change.HttpAddress);
        Assert.Equal($"{change.MemberId}@{change.Incarnation}/alive", change.Key);

        // The CloudEvent carries the contract: the type per kind and the key as its id (in the stored envelope too).
        Assert.Equal("io.stemedb.membership.joined", joined.Metadata["cloudevent.type"]);
        Assert.Equal(change.Key, joined.Metadata["cloudevent.id"]);
        byte[] envelope = CloudEventEnvelope.Create("stemedb-node-1", "pubsub", "membership", joined.Data.ToByteArray(), joined.DataContentType, joined.Metadata, TraceContext.ChildOf(null), null, out _)!;
        using JsonDocument stored = JsonDocument.Parse(envelope);
        Assert.Equal(("io.stemedb.membership.joined", change.Key), (stored.RootElement.GetProperty("type").GetString(), stored.RootElement.GetProperty("id").GetString()));
    }

    // The stand-in sidecar records Dapr.Client's gRPC PublishEvent calls; no app is behind it here.
    private static async Task<StandInSidecar> PublishingSidecar()
    {
        var sidecar = new StandInSidecar("stemedb-node-1", new Uri("http://127.0.0.1:1"), new StandInBroker(1), new System.Collections.Concurrent.ConcurrentDictionary<string, StandInSidecar>());
        await sidecar.StartAsync();
        return sidecar;
    }
}
