using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StemeDb.Contracts;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// The routing refresh outlives a seed that hangs: each refresh times out in the resilience handler
/// (found with a node frozen by <c>podman pause</c>, which stopped the gateway before the fix).
/// </summary>
public sealed class RefreshResilienceTests
{
    [Fact]
    public async Task A_seed_that_stops_answering_does_not_stop_the_gateway()
    {
        bool hang = false;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using WebApplication seed = builder.Build();
        seed.MapGet(InternalRoutes.MetaRange, async (HttpContext c) =>
        {
            if (hang)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted);
            }

            return Results.Ok(new
            {
                shardCount = 16,
                descriptors = new[] { new { id = "0000000000000001", startShard = 0, endShard = 16, replicas = new[] { "n1" }, generation = 0, timestamp = 0, proposer = "n1" } },
            });
        });
        seed.MapGet(InternalRoutes.Members, () => Results.Ok(new[] { new { id = "n1", appId = "n1", httpAddress = "http://127.0.0.1:1", swimAddress = "127.0.0.1:1", state = "alive", incarnation = 1 } }));
        await seed.StartAsync();

        await using GatewayHost gateway = await GatewayHost.StartAsync([new Uri(seed.Urls.First())], new()
        {
            ["Gateway:RequestTimeout"] = "00:00:00.200",
            ["Gateway:RefreshInterval"] = "00:00:00.100",
        });
        await gateway.WaitReadyAsync();
        hang = true;
        await Task.Delay(TimeSpan.FromSeconds(3)); // several refresh rounds, each timing out

        using HttpResponseMessage health = await gateway.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync("/readyz")).StatusCode);
    }
}
