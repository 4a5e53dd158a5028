using System.Net;
using StemeDb.Contracts;

namespace StemeDb.Node.Tests;

[Collection(LoopbackClusters.Name)]
public sealed class AppApiTokenTests
{
    [Fact]
    public async Task With_APP_API_TOKEN_set_every_request_but_health_checks_needs_the_token()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(1, new() { ["APP_API_TOKEN"] = "s3cret" }, genesis: 1);
        using var http = new HttpClient { BaseAddress = cluster.Urls[0] };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        using HttpResponseMessage refused = await http.GetAsync(InternalRoutes.MetaRange);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        using var wrong = new HttpRequestMessage(HttpMethod.Get, InternalRoutes.MetaRange) { Headers = { { "dapr-api-token", "guess" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);

        using var right = new HttpRequestMessage(HttpMethod.Get, InternalRoutes.MetaRange) { Headers = { { "dapr-api-token", "s3cret" } } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(right)).StatusCode);
    }
}
