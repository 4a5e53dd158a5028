using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Cluster.Membership;
using StemeDb.Node;

namespace StemeDb.Node.Tests;

/// <summary>
/// The Dapr adapter's app side, as Dapr.AspNetCore serves it: the subscription list the sidecar reads at
/// start, and CloudEvent deliveries with their SUCCESS / DROP answers. (Publishing through a sidecar is
/// exercised end to end against the stand-in of issue #6.)
/// </summary>
[Collection(nameof(ReplicationTests))]
public sealed class DaprAdapterTests
{
    private static Task<NodeCluster> StartDaprNode() =>
        NodeCluster.StartAsync(1, new() { ["Node:Transport"] = "Dapr", ["Node:AppId"] = "stemedb-node-1" }, genesis: 1);

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
}
