using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using StemeDb.Cluster.Configuration;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>The gateway and the internal API's tokens: it sends the nodes' cluster token, and off loopback it refuses to start without the tokens it needs.</summary>
[Collection(LoopbackClusters.Name)]
public sealed class GatewayTokenTests
{
    private const string Token = "Qm9vdHN0cmFwIHRva2VuIGZvciB0aGUgdGVzdHMgb25seQ==";

    [Fact]
    public async Task With_the_nodes_token_the_gateway_serves_and_without_it_the_nodes_refuse_it()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3, new() { ["Node:ClusterToken"] = Token });
        await cluster.WaitJoinedAsync();

        await using GatewayHost with = await GatewayHost.StartAsync(cluster.Urls, new() { ["Gateway:ClusterToken"] = Token });
        await with.WaitReadyAsync();
        using HttpResponseMessage written = await with.Http.PostAsync("/v1/assertions", new StringContent("{\"subject\":\"user:42\",\"predicate\":\"name\",\"object\":\"Ada\"}", Encoding.UTF8, "application/json"));
        Assert.True(written.IsSuccessStatusCode, await written.Content.ReadAsStringAsync());
        Assert.Contains("Ada", await with.Http.GetStringAsync("/v1/assertions?subject=user%3A42"), StringComparison.Ordinal);

        // Without the token the nodes answer the gateway 401: it never gets a routing table, so it is never ready.
        await using GatewayHost without = await GatewayHost.StartAsync(cluster.Urls);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await without.Http.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public void With_nodes_off_loopback_the_gateway_needs_their_token()
    {
        var error = Assert.Throws<ClusterConfigException>(() => GatewayApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Seeds:0"] = "http://10.1.2.3:5000",
        })));
        Assert.Contains("Gateway__ClusterToken", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Off_loopback_a_dapr_gateway_needs_the_app_token()
    {
        var error = Assert.Throws<ClusterConfigException>(() => GatewayApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = "http://0.0.0.0:8080",
            ["Gateway:Transport"] = "Dapr",
            ["Gateway:Seeds:0"] = "stemedb-node-1",
        })));
        Assert.Contains("APP_API_TOKEN", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_app_token_a_dapr_gateway_takes_deliveries_only_from_its_sidecar()
    {
        await using GatewayHost gateway = await GatewayHost.StartAsync([new Uri("http://stemedb-node-1")], new()
        {
            ["Gateway:Transport"] = "Dapr",
            ["Gateway:Seeds:0"] = "stemedb-node-1",
            ["APP_API_TOKEN"] = "app-token-the-sidecar-sends",
            ["DAPR_HTTP_PORT"] = FreePorts.Tcp().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        string death = "{\"key\":\"stemedb-node-1@9/dead\",\"kind\":\"dead\",\"memberId\":\"stemedb-node-1\",\"appId\":\"stemedb-node-1\",\"httpAddress\":\"http://127.0.0.1:5001\",\"swimAddress\":\"127.0.0.1:7946\",\"state\":\"dead\",\"incarnation\":9,\"observedBy\":\"mallory\",\"time\":\"2026-01-01T00:00:00Z\"}";
        using HttpResponseMessage forged = await gateway.Http.PostAsync("/events/membership", new StringContent(death, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.DoesNotContain("stemedb-node-1", await gateway.Http.GetStringAsync("/v1/cluster/members"), StringComparison.Ordinal);

        using var delivered = new HttpRequestMessage(HttpMethod.Post, "/events/membership") { Content = new StringContent(death, Encoding.UTF8, "application/json") };
        delivered.Headers.Add("dapr-api-token", "app-token-the-sidecar-sends");
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.SendAsync(delivered)).StatusCode);
        Assert.Contains("stemedb-node-1", await gateway.Http.GetStringAsync("/v1/cluster/members"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync("/healthz")).StatusCode); // probes stay open
    }
}
