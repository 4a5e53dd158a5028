using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>Publishing refusals (daprd-behaviour §3): an unknown pubsub, and the topic scopes of the shipped <c>components/pubsub.yaml</c>.</summary>
public sealed class PublishTests
{
    private readonly ConcurrentDictionary<string, StandInSidecar> _registry = new();
    private readonly StandInBroker _broker = new(1);

    [Fact]
    public async Task An_unknown_pubsub_is_404_over_HTTP_and_InvalidArgument_over_gRPC()
    {
        await using StandInSidecar sidecar = await TestApps.CallerAsync(_broker, _registry);
        using var http = new HttpClient { BaseAddress = sidecar.HttpEndpoint };
        using HttpResponseMessage response = await http.PostAsJsonAsync("/v1.0/publish/nope/orders", new { id = 1 });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        JsonElement error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ERR_PUBSUB_NOT_FOUND", error.GetProperty("errorCode").GetString());
        Assert.Equal("pubsub nope is not found", error.GetProperty("message").GetString());

        await using ServiceProvider provider = ApiTokenTests.Client(sidecar.AppEnvironment);
        DaprException refused = await Assert.ThrowsAsync<DaprException>(() => provider.GetRequiredService<DaprClient>().PublishEventAsync("nope", "orders", new { id = 2 }));
        Assert.Equal(StatusCode.InvalidArgument, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
        Assert.Equal(0, _broker.Retained("nope", "orders"));
    }

    [Fact]
    public async Task Publishing_outside_the_scopes_is_403_over_HTTP_and_PermissionDenied_over_gRPC()
    {
        IReadOnlyList<PubSubComponent> shipped = PubSubComponent.LoadAll("components/pubsub.yaml");
        await using StandInSidecar gateway = await TestApps.CallerAsync(_broker, _registry, "stemedb-gateway", components: shipped);
        await using StandInSidecar node = await TestApps.CallerAsync(_broker, _registry, "stemedb-node-1", components: shipped);
        using var http = new HttpClient { BaseAddress = gateway.HttpEndpoint };

        // The gateway publishes nothing ("stemedb-gateway=").
        using HttpResponseMessage response = await http.PostAsJsonAsync("/v1.0/publish/pubsub/meta-range", new { id = 1 });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        JsonElement error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ERR_PUBSUB_FORBIDDEN", error.GetProperty("errorCode").GetString());
        Assert.Equal("topic meta-range is not allowed for app id stemedb-gateway", error.GetProperty("message").GetString());
        await using ServiceProvider gatewayClient = ApiTokenTests.Client(gateway.AppEnvironment);
        DaprException refused = await Assert.ThrowsAsync<DaprException>(() => gatewayClient.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "membership", new { id = 2 }));
        Assert.Equal(StatusCode.PermissionDenied, Assert.IsType<RpcException>(refused.InnerException).StatusCode);

        // A node publishes both of its topics, and no topic outside allowedTopics.
        await using ServiceProvider nodeClient = ApiTokenTests.Client(node.AppEnvironment);
        await nodeClient.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "meta-range", new { id = 3 });
        await nodeClient.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "membership", new { id = 4 });
        refused = await Assert.ThrowsAsync<DaprException>(() => nodeClient.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "other", new { id = 5 }));
        Assert.Equal(StatusCode.PermissionDenied, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
        Assert.Equal((1, 1, 0), (_broker.Retained("pubsub", "meta-range"), _broker.Retained("pubsub", "membership"), _broker.Retained("pubsub", "other")));
    }

    [Fact]
    public async Task An_app_outside_the_components_scopes_does_not_have_the_component()
    {
        await using StandInSidecar outsider = await TestApps.CallerAsync(_broker, _registry, "checkout", components: PubSubComponent.LoadAll("components/pubsub.yaml"));
        using var http = new HttpClient { BaseAddress = outsider.HttpEndpoint };
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/v1.0/publish/pubsub/meta-range", new { id = 1 })).StatusCode);
    }

    [Fact]
    public async Task Subscriptions_the_scopes_bar_do_not_start()
    {
        int membership = 0;
        await using WebApplication app = await TestApps.StartAsync(a =>
        {
            a.MapSubscribeHandler();
            a.MapPost("/meta", () => Results.Ok()).WithTopic("pubsub", "meta-range");
            a.MapPost("/members", () =>
            {
                Interlocked.Increment(ref membership);
                return Results.Ok();
            }).WithTopic("pubsub", "membership");
        });
        IReadOnlyList<PubSubComponent> shipped = PubSubComponent.LoadAll("components/pubsub.yaml");
        await using var node = new StandInSidecar("stemedb-node-2", app.Url(), _broker, _registry) { Components = shipped };
        await node.StartAsync();
        await node.LoadSubscriptionsAsync();
        // Nodes subscribe to meta-range only ("stemedb-node-2=meta-range").
        Assert.Equal(["meta-range"], node.Subscriptions.Select(s => s.Topic));

        await using StandInSidecar publisher = await TestApps.CallerAsync(_broker, _registry, "stemedb-node-1", components: shipped);
        using var http = new HttpClient { BaseAddress = publisher.HttpEndpoint };
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsJsonAsync("/v1.0/publish/pubsub/membership", new { id = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsJsonAsync("/v1.0/publish/pubsub/meta-range", new { id = 2 })).StatusCode);
        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.Equal(1, _broker.Delivered);
        Assert.Equal(0, membership);
    }
}
