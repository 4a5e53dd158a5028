using System.Net;
using System.Net.Http.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>The headers service invocation passes on, strips and adds (daprd-behaviour §1), and the app's answer coming back unchanged.</summary>
public sealed class InvocationHeaderTests : IAsyncLifetime
{
    private const string Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    private InvocationRig _rig = null!;

    public async Task InitializeAsync()
    {
        _rig = await InvocationRig.StartAsync(app =>
        {
            app.MapGet("/redirect", () => Results.Redirect("/elsewhere"));
            app.MapGet("/teapot", (HttpContext c) =>
            {
                c.Response.Headers["X-App"] = "yes";
                return Results.Text("short and stout", "text/x-teapot", statusCode: 418);
            });
            app.MapFallback((HttpContext c) => c.Response.WriteAsJsonAsync(c.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
        }, calleeAppToken: "orders-app-token", callerDaprToken: "checkout-dapr-token");
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Caller_headers_pass_but_hop_by_hop_ones_and_the_callers_token_and_the_sidecars_add_theirs()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", _rig.Caller.HttpEndpoint.ToString(), "checkout-dapr-token");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/headers");
        request.Headers.Add("X-Custom", "kept");
        request.Headers.Add("X-Listed", "dropped: named by Connection");
        request.Headers.Connection.Add("X-Listed");
        request.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic eDp5");
        request.Headers.TryAddWithoutValidation("grpc-trace-bin", "AAAA");
        request.Headers.Add("traceparent", Traceparent);
        request.Headers.Add("tracestate", "vendor=1");
        using HttpResponseMessage response = await client.SendAsync(request);
        Dictionary<string, string> seen = (await response.Content.ReadFromJsonAsync<Dictionary<string, string>>())!;

        Assert.Equal("kept", seen["x-custom"]);
        foreach (string stripped in new[] { "x-listed", "keep-alive", "proxy-authorization", "grpc-trace-bin", "dapr-app-id" })
        {
            Assert.False(seen.ContainsKey(stripped), $"{stripped} reached the app");
        }

        Assert.Equal("orders-app-token", seen["dapr-api-token"]); // the callee's APP_API_TOKEN, not the caller's DAPR_API_TOKEN
        Assert.Equal("checkout", seen["dapr-caller-app-id"]);
        Assert.Equal("default", seen["dapr-caller-namespace"]);
        Assert.Equal("orders", seen["dapr-callee-app-id"]);
        Assert.Equal("127.0.0.1", seen["x-forwarded-for"]);
        Assert.Equal(_rig.Caller.HostName, seen["x-forwarded-host"]);
        Assert.Equal($"for=127.0.0.1;by=127.0.0.1;host={_rig.Caller.HostName}", seen["forwarded"]);
        // The sidecar's span is a child of the caller's: same trace, new parent id.
        string[] trace = seen["traceparent"].Split('-');
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", trace[1]);
        Assert.NotEqual("b7ad6b7169203331", trace[2]);
        Assert.Equal("vendor=1", seen["tracestate"]);
    }

    [Fact]
    public async Task Without_a_traceparent_the_sidecar_starts_a_trace()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", _rig.Caller.HttpEndpoint.ToString(), "checkout-dapr-token");
        Dictionary<string, string> seen = (await client.GetFromJsonAsync<Dictionary<string, string>>("/headers"))!;
        Assert.True(TraceContext.IsValid(seen["traceparent"]), seen["traceparent"]);
    }

    [Fact]
    public async Task Without_DAPR_API_TOKEN_on_the_caller_its_token_header_passes_when_the_callee_sets_none()
    {
        var plainCallee = new StandInSidecar("plain", _rig.App.Url(), _rig.Broker, _rig.Registry);
        await using (plainCallee)
        {
            await plainCallee.StartAsync();
            await using StandInSidecar plainCaller = await TestApps.CallerAsync(_rig.Broker, _rig.Registry, appId: "plain-caller");
            using var http = new HttpClient { BaseAddress = plainCaller.HttpEndpoint };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1.0/invoke/plain/method/headers");
            request.Headers.Add("dapr-api-token", "whatever");
            Dictionary<string, string> seen = (await (await http.SendAsync(request)).Content.ReadFromJsonAsync<Dictionary<string, string>>())!;
            Assert.Equal("whatever", seen["dapr-api-token"]);
        }
    }

    [Fact]
    public async Task The_apps_answer_comes_back_unchanged_redirects_included()
    {
        using HttpClient client = DaprClient.CreateInvokeHttpClient("orders", _rig.Caller.HttpEndpoint.ToString(), "checkout-dapr-token");
        using HttpResponseMessage teapot = await client.GetAsync("/teapot");
        Assert.Equal((HttpStatusCode)418, teapot.StatusCode);
        Assert.Equal("short and stout", await teapot.Content.ReadAsStringAsync());
        Assert.Equal("text/x-teapot", teapot.Content.Headers.ContentType!.MediaType);
        Assert.Equal("yes", teapot.Headers.GetValues("X-App").Single());

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _rig.Caller.HttpEndpoint };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1.0/invoke/orders/method/redirect");
        request.Headers.Add("dapr-api-token", "checkout-dapr-token");
        using HttpResponseMessage redirect = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/elsewhere", redirect.Headers.Location!.OriginalString);
    }
}
