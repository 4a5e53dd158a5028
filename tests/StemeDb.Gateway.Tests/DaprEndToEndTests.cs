using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Cluster.Sharding;
using StemeDb.Dapr.Testing;
using StemeDb.Node;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// The Dapr path end to end: three node apps and a gateway, each with a stand-in sidecar; invocation by
/// app-id and pub/sub through a shared broker that duplicates and reorders deliveries.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class DaprEndToEndTests
{
    [Fact]
    public async Task Writes_and_reads_go_through_sidecars_and_a_meta_range_change_reaches_every_subscriber()
    {
        var broker = new StandInBroker(seed: 5) { Duplicates = 0.5, MaxDelay = TimeSpan.FromMilliseconds(50) };
        var registry = new ConcurrentDictionary<string, StandInSidecar>();
        var sidecars = new List<StandInSidecar>();
        try
        {
            await using NodeCluster cluster = await NodeCluster.StartAsync(3, new() { ["Node:Transport"] = "Dapr" }, perNode: async (i, url) =>
            {
                var sidecar = new StandInSidecar($"stemedb-node-{i + 1}", url, broker, registry) { Resiliency = ResiliencyPolicies.Load("components/resiliency.yaml"), Components = PubSubComponent.LoadAll("components/pubsub.yaml") };
                await sidecar.StartAsync();
                sidecars.Add(sidecar);
                return sidecar.AppEnvironment;
            });
            await Poll.UntilAsync(() => Enumerable.Range(0, 3).All(i => cluster.Node(i).Swim.ActiveMemberCount == 3), TimeSpan.FromSeconds(20), "three nodes see each other");

            await using GatewayHost gateway = await GatewayHost.StartAsync([], new() { ["Gateway:Transport"] = "Dapr", ["Gateway:Seeds:0"] = "stemedb-node-1" }, atUrl: async url =>
            {
                var sidecar = new StandInSidecar("stemedb-gateway", url, broker, registry) { Resiliency = ResiliencyPolicies.Load("components/resiliency.yaml"), Components = PubSubComponent.LoadAll("components/pubsub.yaml") };
                await sidecar.StartAsync();
                sidecars.Add(sidecar);
                return sidecar.AppEnvironment;
            });
            foreach (StandInSidecar sidecar in sidecars)
            {
                await sidecar.LoadSubscriptionsAsync(); // as daprd does once the app port is open
            }

            Assert.Contains(sidecars[3].Subscriptions, s => s.Topic == "membership");
            await gateway.WaitReadyAsync();

            for (int i = 0; i < 20; i++)
            {
                using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", new StringContent($"{{\"subject\":\"dapr:{i}\",\"predicate\":\"p\",\"object\":{i}}}", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, written.StatusCode);
                List<JsonElement> read = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>($"/v1/subjects/dapr%3A{i}/assertions"))!;
                Assert.Equal(i, Assert.Single(read).GetProperty("object").GetInt32());
            }

            // A split published by node-1 with Dapr.Client reaches the other nodes and the gateway over the broker.
            ClusterNode one = cluster.Node(0);
            RangeDescriptor genesis = one.Table.Current.Entries[0].Descriptor;
            var now = one.Clock.Now();
            await cluster.ProposeAsync(0, RangeChangeKind.Split, [genesis], [
                new RangeDescriptor(genesis.Id, 0, 128, genesis.Replicas, 1, now, one.Id),
                new RangeDescriptor(RangeId.Derive(genesis.Id, 1, 128), 128, NodeCluster.Shards, genesis.Replicas, 1, now, one.Id)]);
            await Poll.UntilAsync(() => cluster.Node(1).Table.Current.Entries.Length == 2 && cluster.Node(2).Table.Current.Entries.Length == 2, TimeSpan.FromSeconds(10), "nodes 2 and 3 got the split");
            await Poll.UntilAsync(async () => (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!.Count == 2, TimeSpan.FromSeconds(10), "the gateway got the split");
            await broker.IdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(broker.Delivered > 0);
        }
        finally
        {
            foreach (StandInSidecar sidecar in sidecars)
            {
                await sidecar.DisposeAsync();
            }
        }
    }
}
