using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>API token authentication toward the sidecar (DAPR_API_TOKEN): the SDK sends it, anything else is refused, health stays open.</summary>
public sealed class ApiTokenTests : IAsyncLifetime
{
    private readonly StandInSidecar _sidecar = new("app", new Uri("http://127.0.0.1:9"), new StandInBroker(1), new ConcurrentDictionary<string, StandInSidecar>()) { DaprApiToken = "s3cret" };

    public Task InitializeAsync() => _sidecar.StartAsync();

    public Task DisposeAsync() => _sidecar.DisposeAsync().AsTask();

    [Fact]
    public async Task Calls_without_the_token_are_refused_but_health_checks_are_not()
    {
        using var http = new HttpClient { BaseAddress = _sidecar.HttpEndpoint };
        using HttpResponseMessage publish = await http.PostAsJsonAsync("/v1.0/publish/pubsub/orders", new { id = 1 });
        Assert.Equal(HttpStatusCode.Unauthorized, publish.StatusCode);
        using HttpResponseMessage metadata = await http.GetAsync("/v1.0/metadata");
        Assert.Equal(HttpStatusCode.Unauthorized, metadata.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz/outbound")).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1.0/metadata");
        request.Headers.Add("dapr-api-token", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task DaprClient_configured_from_the_environment_sends_the_token_over_gRPC()
    {
        await using ServiceProvider provider = Client(_sidecar.AppEnvironment);
        await provider.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "orders", new { id = 2 });
        Assert.Single(_sidecar.Published);
    }

    [Fact]
    public async Task DaprClient_without_the_token_is_refused_over_gRPC()
    {
        Dictionary<string, string?> environment = _sidecar.AppEnvironment;
        environment.Remove("DAPR_API_TOKEN");
        await using ServiceProvider provider = Client(environment);
        await Assert.ThrowsAsync<DaprException>(() => provider.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "orders", new { id = 3 }));
        Assert.Empty(_sidecar.Published);
    }

    private static ServiceProvider Client(Dictionary<string, string?> environment)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(environment).Build());
        services.AddDaprClient();
        return services.BuildServiceProvider();
    }
}
