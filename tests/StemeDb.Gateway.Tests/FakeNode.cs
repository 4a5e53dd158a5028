using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StemeDb.Contracts;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// A node that misbehaves on purpose (hangs, answers garbage, fails), behind the real internal routes the
/// gateway calls, so the gateway's mapping of upstream failures can be checked. It reports itself as the
/// only replica of the only range.
/// </summary>
internal sealed class FakeNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeNode(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>What POST /internal/v1/assertions and GET .../assertions do.</summary>
    public Func<HttpContext, Task> Behaviour { get; set; } = context => context.Response.WriteAsync("[]");

    public string State { get; set; } = "alive";

    public static async Task<FakeNode> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        FakeNode? fake = null;
        app.MapGet(InternalRoutes.MetaRange, () => Results.Ok(new
        {
            shardCount = 16,
            descriptors = new[] { new { id = "0000000000000001", startShard = 0, endShard = 16, replicas = new[] { "fake-1" }, generation = 0, timestamp = 0, proposer = "fake-1" } },
        }));
        app.MapGet(InternalRoutes.Members, () => Results.Ok(new[] { new { id = "fake-1", appId = "fake-1", httpAddress = fake!.Url.ToString().TrimEnd('/'), swimAddress = "127.0.0.1:1", state = fake.State, incarnation = 1 } }));
        app.MapPost(InternalRoutes.Write, (HttpContext c) => fake!.Behaviour(c));
        app.MapPost(InternalRoutes.Query, (HttpContext c) => fake!.Behaviour(c));
        app.MapPost(InternalRoutes.Retract, (HttpContext c) => fake!.Behaviour(c));
        await app.StartAsync();
        fake = new FakeNode(app, new Uri(app.Urls.First()));
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
