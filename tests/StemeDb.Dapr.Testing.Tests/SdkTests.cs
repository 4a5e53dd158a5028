using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// The stand-in driven by the real SDK: a <c>Dapr.AspNetCore</c> app subscribing with <c>WithTopic</c> and
/// <c>UseCloudEvents</c>, and <c>Dapr.Client</c> configured only from the environment the stand-in injects,
/// as the Dapr CLI would (reference dapr.md §1, §4).
/// </summary>
public sealed class SdkTests : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, StandInSidecar> _registry = new();
    private readonly StandInBroker _broker = new(seed: 3);
    private readonly TaskCompletionSource<Order> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _callers = new();
    private WebApplication _app = null!;
    private StandInSidecar _appSidecar = null!;
    private StandInSidecar _clientSidecar = null!;
    private ServiceProvider _clientServices = null!;

    public sealed record Order(string Id, int Quantity);

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddDaprClient();
        _app = builder.Build();
        _app.UseCloudEvents();
        _app.MapSubscribeHandler();
        _app.MapPost("/orders", (Order order) =>
        {
            _received.TrySetResult(order);
            return Results.Ok();
        }).WithTopic("pubsub", "orders");
        _app.MapGet("/hello/{name}", (string name, HttpContext c) =>
        {
            _callers.Enqueue(c.Request.Headers["dapr-caller-app-id"].ToString());
            return Results.Ok(new { greeting = $"hello {name}", query = c.Request.Query["q"].ToString() });
        });
        _app.MapGet("/teapot", () => Results.StatusCode(418));
        await _app.StartAsync();

        _appSidecar = new StandInSidecar("orders", new Uri(_app.Urls.First()), _broker, _registry);
        await _appSidecar.StartAsync();
        await _appSidecar.LoadSubscriptionsAsync();

        // The calling app has no server of its own here; its sidecar never calls it.
        _clientSidecar = new StandInSidecar("checkout", new Uri("http://127.0.0.1:9"), _broker, _registry);
        await _clientSidecar.StartAsync();

        // Dapr.Client configured the way the apps are: AddDaprClient over configuration holding the CLI's variables.
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(_clientSidecar.AppEnvironment).Build());
        services.AddDaprClient();
        _clientServices = services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _clientServices.DisposeAsync();
        await _clientSidecar.DisposeAsync();
        await _appSidecar.DisposeAsync();
        await _app.DisposeAsync();
    }

    private DaprClient Client => _clientServices.GetRequiredService<DaprClient>();

    [Fact]
    public void The_injected_environment_is_what_the_cli_sets()
    {
        Dictionary<string, string?> environment = _clientSidecar.AppEnvironment;
        Assert.Equal("checkout", environment["APP_ID"]);
        Assert.Equal("9", environment["APP_PORT"]);
        Assert.Equal(_clientSidecar.HttpEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), environment["DAPR_HTTP_PORT"]);
        Assert.Equal(_clientSidecar.GrpcEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), environment["DAPR_GRPC_PORT"]);
        Assert.Equal("", environment["APP_CHANNEL_ADDRESS"]); // run-file mode sets it always, empty for the default 127.0.0.1
        Assert.False(environment.ContainsKey("DAPR_HTTP_ENDPOINT")); // the CLI gives ports, not endpoints
    }

    [Fact]
    public void Subscriptions_are_discovered_from_the_Dapr_AspNetCore_subscribe_handler()
    {
        (string pubsub, string topic, string route) = Assert.Single(_appSidecar.Subscriptions);
        Assert.Equal(("pubsub", "orders", "/orders"), (pubsub, topic, route));
    }

    [Fact]
    public async Task A_typed_event_published_with_DaprClient_over_gRPC_reaches_the_subscriber_unwrapped()
    {
        await Client.PublishEventAsync("pubsub", "orders", new Order("o-1", 3));

        Order received = await _received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new Order("o-1", 3), received);
        global::Dapr.Client.Autogen.Grpc.v1.PublishEventRequest published = Assert.Single(_clientSidecar.Published);
        Assert.Equal("application/json", published.DataContentType);
        await _broker.IdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, _broker.Delivered);
    }

    [Fact]
    public async Task An_event_published_over_HTTP_is_delivered_as_a_CloudEvent_envelope()
    {
        using var http = new HttpClient { BaseAddress = _clientSidecar.HttpEndpoint };
        using HttpResponseMessage published = await http.PostAsJsonAsync("/v1.0/publish/pubsub/orders", new Order("o-2", 5));
        Assert.Equal(HttpStatusCode.NoContent, published.StatusCode);
        Assert.Equal(new Order("o-2", 5), await _received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task GetMetadataAsync_over_gRPC_names_the_app_and_its_pubsub_component()
    {
        var appServices = new ServiceCollection();
        appServices.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(_appSidecar.AppEnvironment).Build());
        appServices.AddDaprClient();
        await using ServiceProvider provider = appServices.BuildServiceProvider();

        DaprMetadata metadata = await provider.GetRequiredService<DaprClient>().GetMetadataAsync();

        Assert.Equal("orders", metadata.Id);
        DaprComponentsMetadata component = Assert.Single(metadata.Components);
        Assert.Equal(("pubsub", "pubsub.redis"), (component.Name, component.Type));
    }

    [Fact]
    public async Task The_HTTP_metadata_lists_subscriptions_with_flattened_rules()
    {
        using var http = new HttpClient { BaseAddress = _appSidecar.HttpEndpoint };
        JsonElement metadata = await http.GetFromJsonAsync<JsonElement>("/v1.0/metadata");
        Assert.Equal("orders", metadata.GetProperty("id").GetString());
        JsonElement subscription = Assert.Single(metadata.GetProperty("subscriptions").EnumerateArray());
        Assert.Equal("/orders", subscription.GetProperty("rules")[0].GetProperty("path").GetString());
    }

    [Fact]
    public async Task CreateInvokeHttpClient_reaches_the_target_app_and_the_answer_comes_back_unchanged()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", _clientSidecar.HttpEndpoint.ToString());

        JsonElement answer = await client.GetFromJsonAsync<JsonElement>("/hello/ana?q=1");
        Assert.Equal("hello ana", answer.GetProperty("greeting").GetString());
        Assert.Equal("1", answer.GetProperty("query").GetString());
        Assert.Equal("checkout", Assert.Single(_callers));

        using HttpResponseMessage teapot = await client.GetAsync("/teapot");
        Assert.Equal((HttpStatusCode)418, teapot.StatusCode);
    }

    [Fact]
    public async Task The_dapr_app_id_header_form_invokes_the_same_method()
    {
        using var http = new HttpClient { BaseAddress = _clientSidecar.HttpEndpoint };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello/bo");
        request.Headers.Add("dapr-app-id", "orders");
        using HttpResponseMessage response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        Assert.Equal("hello bo", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("greeting").GetString());
    }

    [Fact]
    public async Task Invoking_an_unknown_app_is_a_500_ERR_DIRECT_INVOKE()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("nobody", _clientSidecar.HttpEndpoint.ToString());
        using HttpResponseMessage response = await client.GetAsync("/hello/x");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("ERR_DIRECT_INVOKE", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_checks_of_the_SDK_see_a_ready_sidecar_once_it_read_the_subscriptions()
    {
        // The app's sidecar read /dapr/subscribe: initialised. The caller's never had an app answer: outbound only.
        await using ServiceProvider appServices = ApiTokenTests.Client(_appSidecar.AppEnvironment);
        Assert.True(await appServices.GetRequiredService<DaprClient>().CheckHealthAsync());
        Assert.False(await Client.CheckHealthAsync());
        Assert.True(await Client.CheckOutboundHealthAsync());
        await Client.WaitForSidecarAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
    }
}
