using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// Resiliency on service invocation (daprd-behaviour §2): retry(breaker(timeout(call))) under the callee
/// app's policy, from the shipped <c>components/resiliency.yaml</c> and from a test file with retries and a breaker.
/// </summary>
public sealed class ResiliencyTests : IAsyncLifetime
{
    private const string TestPolicies = """
        apiVersion: dapr.io/v1alpha1
        kind: Resiliency
        metadata:
          name: test
        spec:
          policies:
            timeouts:
              short: 1s
            retries:
              gateway:
                policy: constant
                duration: 10ms
                maxRetries: 2
                matching:
                  httpStatusCodes: "500,502-504"
            circuitBreakers:
              node:
                maxRequests: 1
                timeout: 30s
                trip: consecutiveFailures > 3
          targets:
            apps:
              orders: { timeout: short, retry: gateway, circuitBreaker: node }
        """;

    private readonly ConcurrentDictionary<string, StandInSidecar> _registry = new();
    private readonly StandInBroker _broker = new(1);
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private WebApplication _app = null!;
    private readonly List<StandInSidecar> _sidecars = [];

    public async Task InitializeAsync()
    {
        // /status/<code>/<name>: answers <code>; /slow/<name>: answers after 5 s; each counts its calls by path.
        _app = await TestApps.StartAsync(app =>
        {
            app.Map("/status/{code:int}/{name}", (int code, HttpContext c) =>
            {
                _calls.AddOrUpdate(c.Request.Path.Value!, 1, (_, n) => n + 1);
                return Results.Text($"app says {code}", statusCode: code);
            });
            app.MapGet("/slow/{name}", async (HttpContext c) =>
            {
                _calls.AddOrUpdate(c.Request.Path.Value!, 1, (_, n) => n + 1);
                await Task.Delay(TimeSpan.FromSeconds(5), c.RequestAborted);
                return Results.Ok();
            });
        });
        foreach (string id in new[] { "orders", "stemedb-node-1" })
        {
            var callee = new StandInSidecar(id, _app.Url(), _broker, _registry);
            await callee.StartAsync();
            _sidecars.Add(callee);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (StandInSidecar sidecar in _sidecars)
        {
            await sidecar.DisposeAsync();
        }

        await _app.DisposeAsync();
    }

    [Fact]
    public void The_shipped_file_bounds_node_calls_by_a_timeout_only_and_retries_deliveries()
    {
        ResiliencyPolicies shipped = ResiliencyPolicies.Load("components/resiliency.yaml");
        PolicyDefinition node = shipped.App("stemedb-node-1");
        Assert.Equal(TimeSpan.FromSeconds(40), node.Timeout);
        Assert.Null(node.Retry);
        Assert.Null(node.CircuitBreaker);
        Assert.Equal(PolicyDefinition.None, shipped.App("someone-else"));

        PolicyDefinition inbound = shipped.ComponentInbound("pubsub");
        Assert.Equal(TimeSpan.FromSeconds(10), inbound.Timeout);
        Assert.True(inbound.Retry!.Exponential);
        Assert.Equal(10, inbound.Retry.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(10), inbound.Retry.MaxInterval);
        Assert.True(shipped.AppliesTo("stemedb-gateway"));
        Assert.False(shipped.AppliesTo("checkout"));
    }

    [Fact]
    public async Task With_the_shipped_file_a_failing_node_is_called_once_per_request_and_never_broken()
    {
        StandInSidecar gateway = await Caller("stemedb-gateway", ResiliencyPolicies.Load("components/resiliency.yaml"));
        using HttpClient client = DaprClient.CreateInvokeHttpClient("stemedb-node-1", gateway.HttpEndpoint.ToString());
        for (int i = 0; i < 8; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/status/503/shipped");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("app says 503", await response.Content.ReadAsStringAsync()); // the node's own answer, no ERR_DIRECT_INVOKE
        }

        Assert.Equal(8, _calls["/status/503/shipped"]);
    }

    [Fact]
    public async Task Without_a_policy_nothing_is_retried()
    {
        StandInSidecar caller = await Caller("checkout", null);
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", caller.HttpEndpoint.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/status/503/none")).StatusCode);
        Assert.Equal(1, _calls["/status/503/none"]);
    }

    [Fact]
    public async Task Matching_statuses_are_retried_and_the_caller_gets_the_apps_last_answer()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", (await Caller("checkout", ResiliencyPolicies.Parse(TestPolicies))).HttpEndpoint.ToString());
        using HttpResponseMessage response = await client.GetAsync("/status/503/matching");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("app says 503", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, _calls["/status/503/matching"]); // 1 + maxRetries 2
    }

    [Fact]
    public async Task Statuses_outside_matching_are_not_retried()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", (await Caller("checkout", ResiliencyPolicies.Parse(TestPolicies))).HttpEndpoint.ToString());
        Assert.Equal(HttpStatusCode.BadGateway, (await client.GetAsync("/status/502/listed")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await client.GetAsync("/status/409/unlisted")).StatusCode);
        Assert.Equal(3, _calls["/status/502/listed"]);
        Assert.Equal(1, _calls["/status/409/unlisted"]);
    }

    [Fact]
    public async Task The_breaker_opens_after_the_trip_count_of_app_failures_per_method()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", (await Caller("checkout", ResiliencyPolicies.Parse(TestPolicies))).HttpEndpoint.ToString());
        // Call 1: three 503s (consecutiveFailures 3, not > 3). Call 2: the fourth 503 trips it; the retry finds it open.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/status/503/breaker")).StatusCode);
        await AssertBreakerOpenAsync(await client.GetAsync("/status/503/breaker"));
        await AssertBreakerOpenAsync(await client.GetAsync("/status/503/breaker"));
        Assert.Equal(4, _calls["/status/503/breaker"]);

        // Another method has its own breaker.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/status/200/breaker")).StatusCode);
    }

    [Fact]
    public async Task A_timeout_is_a_statusless_failure_retried_then_answered_as_context_deadline_exceeded()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", (await Caller("checkout", ResiliencyPolicies.Parse(TestPolicies))).HttpEndpoint.ToString());
        var clock = Stopwatch.StartNew();
        using HttpResponseMessage response = await client.GetAsync("/slow/timeout");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        JsonElement error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        Assert.Equal("failed to invoke, id: orders, err: context deadline exceeded", error.GetProperty("message").GetString());
        Assert.Equal(3, _calls["/slow/timeout"]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"per-attempt timeouts of 1 s, took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_chunked_request_is_not_retried_but_one_with_a_length_is()
    {
        StandInSidecar caller = await Caller("checkout", ResiliencyPolicies.Parse(TestPolicies));
        using DaprClient dapr = new DaprClientBuilder().UseHttpEndpoint(caller.HttpEndpoint.ToString()).UseGrpcEndpoint(caller.GrpcEndpoint.ToString()).Build();
        // InvokeMethodAsync with data sends JsonContent: no Content-Length, so chunked (daprd-behaviour §2).
#pragma warning disable CS0618 // obsolete in the SDK, but it is what sends chunked bodies through the sidecar
        await Assert.ThrowsAsync<InvocationException>(() => dapr.InvokeMethodAsync(HttpMethod.Post, "orders", "status/503/chunked", new { n = 1 }));
#pragma warning restore CS0618
        Assert.Equal(1, _calls["/status/503/chunked"]);

        using var http = new HttpClient { BaseAddress = caller.HttpEndpoint };
        using HttpResponseMessage sized = await http.PostAsync("/v1.0/invoke/orders/method/status/503/sized", new ByteArrayContent("{\"n\":1}"u8.ToArray()));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, sized.StatusCode);
        Assert.Equal(3, _calls["/status/503/sized"]);
    }

    private static async Task AssertBreakerOpenAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            JsonElement error = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
            Assert.Equal("failed to invoke, id: orders, err: circuit breaker is open", error.GetProperty("message").GetString());
        }
    }

    private async Task<StandInSidecar> Caller(string appId, ResiliencyPolicies? resiliency)
    {
        StandInSidecar caller = await TestApps.CallerAsync(_broker, _registry, appId, resiliency);
        _sidecars.Add(caller);
        return caller;
    }
}
