using System.Net;

namespace StemeDb.Gateway.Tests;

public sealed class ApiKeyTests
{
    [Fact]
    public async Task With_API_keys_configured_every_v1_request_needs_one_and_health_stays_open()
    {
        await using FakeNode node = await FakeNode.StartAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync([node.Url], new() { ["Gateway:ApiKeys:0"] = "old-key", ["Gateway:ApiKeys:1"] = "new-key" });
        await gateway.WaitReadyAsync();

        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync("/healthz")).StatusCode);
        using HttpResponseMessage none = await gateway.Http.GetAsync("/v1/cluster/members");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);

        foreach ((string key, HttpStatusCode expected) in new[] { ("guess", HttpStatusCode.Unauthorized), ("old-key", HttpStatusCode.OK), ("new-key", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/cluster/members") { Headers = { { "X-Api-Key", key } } };
            Assert.Equal(expected, (await gateway.Http.SendAsync(request)).StatusCode);
        }
    }

    [Fact]
    public void A_wildcard_origin_with_credentials_is_refused_at_start()
    {
        var error = Assert.Throws<StemeDb.Cluster.Configuration.ClusterConfigException>(() => GatewayApp.Build([], c =>
            Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(c, new Dictionary<string, string?>
            {
                ["Gateway:Seeds:0"] = "http://127.0.0.1:1",
                ["Gateway:CorsOrigins:0"] = "*",
                ["Gateway:CorsAllowCredentials"] = "true",
            })));
        Assert.Contains(error.Errors, e => e.Contains("CorsOrigins", StringComparison.Ordinal));
    }
}
