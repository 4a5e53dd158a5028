using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>API token authentication toward the sidecar (DAPR_API_TOKEN, daprd-behaviour §6): the SDK sends it, anything else is refused, the health GETs stay open.</summary>
public sealed class ApiTokenTests : IAsyncLifetime
{
    private readonly StandInSidecar _sidecar = new("app", new Uri("http://127.0.0.1:9"), new StandInBroker(1), new ConcurrentDictionary<string, StandInSidecar>()) { DaprApiToken = "s3cret" };

    public Task InitializeAsync() => _sidecar.StartAsync();

    public Task DisposeAsync() => _sidecar.DisposeAsync().AsTask();

    [Fact]
    public async Task Calls_without_the_token_get_a_plain_text_401()
    {
        using var http = new HttpClient { BaseAddress = _sidecar.HttpEndpoint };
        using HttpResponseMessage publish = await http.PostAsJsonAsync("/v1.0/publish/pubsub/orders", new { id = 1 });
        Assert.Equal(HttpStatusCode.Unauthorized, publish.StatusCode);
        Assert.Equal("text/plain", publish.Content.Headers.ContentType!.MediaType);
        Assert.Equal("invalid api token", await publish.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1.0/metadata")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1.0/invoke/app/method/x")).StatusCode);
        using var byHeader = new HttpRequestMessage(HttpMethod.Get, "/x");
        byHeader.Headers.Add("dapr-app-id", "app");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(byHeader)).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1.0/metadata");
        wrong.Headers.Add("dapr-api-token", "guess");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        // Only the GETs of the health routes are exempt.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/v1.0/healthz", null)).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1.0/metadata");
        request.Headers.Add("dapr-api-token", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Health_checks_are_answered_without_the_token()
    {
        using var http = new HttpClient { BaseAddress = _sidecar.HttpEndpoint };
        // Not initialised (no app answered): 500, but not a 401.
        Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz/outbound")).StatusCode);
    }

    [Fact]
    public async Task DaprClient_configured_from_the_environment_sends_the_token_over_gRPC()
    {
        await using ServiceProvider provider = Client(_sidecar.AppEnvironment);
        await provider.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "orders", new { id = 2 });
        Assert.Single(_sidecar.Published);
    }

    [Fact]
    public async Task DaprClient_without_the_token_is_refused_over_gRPC_as_UNAUTHENTICATED()
    {
        Dictionary<string, string?> environment = _sidecar.AppEnvironment;
        environment.Remove("DAPR_API_TOKEN");
        await using ServiceProvider provider = Client(environment);
        DaprException refused = await Assert.ThrowsAsync<DaprException>(() => provider.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "orders", new { id = 3 }));
        RpcException rpc = Assert.IsType<RpcException>(refused.InnerException);
        Assert.Equal(StatusCode.Unauthenticated, rpc.StatusCode);
        Assert.Equal("Unauthorized", rpc.Status.Detail);
        Assert.Empty(_sidecar.Published);
    }

    internal static ServiceProvider Client(Dictionary<string, string?> environment)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(environment).Build());
        services.AddDaprClient();
        return services.BuildServiceProvider();
    }
}
