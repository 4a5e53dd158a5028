using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>The stand-in sidecar's delivery semantics (reference dapr.md §3): SUCCESS, RETRY, DROP, 404.</summary>
public sealed class DeliveryTests
{
    [Theory]
    [InlineData("SUCCESS", 200, true, 1)]
    [InlineData("", 200, true, 1)]
    [InlineData("DROP", 200, false, 1)]
    [InlineData("RETRY", 200, false, 3)]
    [InlineData("", 500, false, 3)]
    [InlineData("", 404, false, 1)]
    public async Task Deliveries_follow_the_app_answer(string status, int code, bool taken, int calls)
    {
        int seen = 0;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using WebApplication app = builder.Build();
        app.MapPost("/events/t", async (HttpContext c) =>
        {
            Interlocked.Increment(ref seen);
            Assert.Equal("application/cloudevents+json", c.Request.ContentType);
            c.Response.StatusCode = code;
            if (status.Length > 0)
            {
                await c.Response.WriteAsJsonAsync(new { status });
            }
        });
        await app.StartAsync();

        await using var sidecar = new StandInSidecar("app", new Uri(app.Urls.First()), new StandInBroker(1), new ConcurrentDictionary<string, StandInSidecar>());
        await sidecar.StartAsync();
        Assert.Equal(taken, await sidecar.DeliverAsync("/events/t", "{\"specversion\":\"1.0\",\"data\":{}}"u8.ToArray()));
        Assert.Equal(calls, seen);
    }
}
