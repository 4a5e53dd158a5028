using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary><c>/v1.0/healthz</c> is 500 until the sidecar is initialised (the app answered its subscription read), then 204; outbound is 204 once started (daprd-behaviour §7).</summary>
public sealed class HealthTests
{
    [Theory]
    [InlineData(200)]
    [InlineData(404)]
    [InlineData(500)] // an error answer still ends initialisation (no subscriptions)
    public async Task Healthz_turns_ready_once_the_subscriptions_were_read(int subscribeStatus)
    {
        await using WebApplication app = await TestApps.StartAsync(a => a.MapGet("/dapr/subscribe", () => Results.Json(Array.Empty<object>(), statusCode: subscribeStatus)));
        await using var sidecar = new StandInSidecar("app", app.Url(), new StandInBroker(1), new ConcurrentDictionary<string, StandInSidecar>());
        await sidecar.StartAsync();
        await using ServiceProvider provider = ApiTokenTests.Client(sidecar.AppEnvironment);
        DaprClient client = provider.GetRequiredService<DaprClient>();
        using var http = new HttpClient { BaseAddress = sidecar.HttpEndpoint };

        using HttpResponseMessage before = await http.GetAsync("/v1.0/healthz");
        Assert.Equal(HttpStatusCode.InternalServerError, before.StatusCode);
        Assert.Equal("ERR_HEALTH_NOT_READY", (await before.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errorCode").GetString());
        Assert.False(await client.CheckHealthAsync());
        Assert.True(await client.CheckOutboundHealthAsync());
        await client.WaitForSidecarAsync(new CancellationTokenSource(TestApps.Patience).Token); // polls the outbound route

        await sidecar.LoadSubscriptionsAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.True(await client.CheckHealthAsync());
        Assert.True(sidecar.IsInitialized);
    }

    [Fact]
    public async Task An_app_that_never_answers_keeps_the_sidecar_not_ready()
    {
        await using var sidecar = new StandInSidecar("app", new Uri("http://127.0.0.1:9"), new StandInBroker(1), new ConcurrentDictionary<string, StandInSidecar>());
        await sidecar.StartAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => sidecar.LoadSubscriptionsAsync()).WaitAsync(TestApps.Patience);
        using var http = new HttpClient { BaseAddress = sidecar.HttpEndpoint };
        Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync("/v1.0/healthz")).StatusCode);
    }
}
