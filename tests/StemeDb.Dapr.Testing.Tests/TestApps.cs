using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>Apps on real Kestrel (loopback, a free port) and the sidecars in front of them.</summary>
internal static class TestApps
{
    /// <summary>Bounds every wait of these tests.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>An app with the Dapr.AspNetCore services (for <c>MapSubscribeHandler</c>/<c>WithTopic</c>) and the routes <paramref name="map"/> adds.</summary>
    public static async Task<WebApplication> StartAsync(Action<WebApplication> map)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddDaprClient();
        WebApplication app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    public static Uri Url(this WebApplication app) => new(app.Urls.First());

    /// <summary>
    /// An app declaring <paramref name="entries"/> at <c>/dapr/subscribe</c> (routes under <c>/events/</c>) and
    /// handing every delivered envelope to <paramref name="handle"/>.
    /// </summary>
    public static Task<WebApplication> SubscriberAsync(Func<JsonElement, HttpContext, Task<IResult>> handle, params object[] entries) =>
        StartAsync(app =>
        {
            app.MapGet("/dapr/subscribe", () => Results.Json(entries));
            app.MapPost("/events/{**rest}", async (HttpContext c) =>
            {
                using JsonDocument envelope = await JsonDocument.ParseAsync(c.Request.Body, cancellationToken: c.RequestAborted);
                return await handle(envelope.RootElement.Clone(), c);
            });
        });

    /// <summary>A subscription entry as the v1 list has it.</summary>
    public static object Entry(string topic, string? deadLetterTopic = null) =>
        new { pubsubname = "pubsub", topic, route = "/events/" + topic, deadLetterTopic };

    /// <summary>Publishes <c>{"n": n}</c> through a sidecar's HTTP API.</summary>
    public static async Task PublishAsync(StandInSidecar publisher, string topic, int n)
    {
        using var http = new HttpClient { BaseAddress = publisher.HttpEndpoint };
        using HttpResponseMessage response = await http.PostAsJsonAsync($"/v1.0/publish/pubsub/{topic}", new { n });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The <c>n</c> of a delivered envelope's data.</summary>
    public static int N(JsonElement envelope) => envelope.GetProperty("data").GetProperty("n").GetInt32();

    /// <summary>A sidecar for a caller that has no app of its own (its sidecar never calls it).</summary>
    public static async Task<StandInSidecar> CallerAsync(StandInBroker broker, ConcurrentDictionary<string, StandInSidecar> registry, string appId = "checkout", ResiliencyPolicies? resiliency = null, string? daprApiToken = null, IReadOnlyList<PubSubComponent>? components = null)
    {
        var sidecar = new StandInSidecar(appId, new Uri("http://127.0.0.1:9"), broker, registry) { Resiliency = resiliency, DaprApiToken = daprApiToken, Components = components };
        await sidecar.StartAsync();
        return sidecar;
    }

    /// <summary>A request whose path goes out exactly as written (no dot-segment removal, no unescaping).</summary>
    public static HttpRequestMessage Raw(HttpMethod method, Uri endpoint, string pathAndQuery) =>
        new(method, new Uri(endpoint.GetLeftPart(UriPartial.Authority) + pathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));
}
