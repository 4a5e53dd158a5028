using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>How the caller's sidecar finds the target app (daprd-behaviour §1): header, then Basic auth, then the invoke path.</summary>
public sealed class InvocationTargetTests : IAsyncLifetime
{
    private InvocationRig _rig = null!;

    public async Task InitializeAsync()
    {
        _rig = await InvocationRig.StartAsync(app => app.Run(c => c.Response.WriteAsJsonAsync(new
        {
            path = c.Request.Path.Value,
            appIdHeader = c.Request.Headers["dapr-app-id"].ToString(),
            authorization = c.Request.Headers.Authorization.ToString(),
        })));
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task The_dapr_app_id_header_names_the_target_the_whole_path_is_the_method_and_the_header_is_not_forwarded()
    {
        using var http = new HttpClient { BaseAddress = _rig.Caller.HttpEndpoint };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1.0/invoke/elsewhere/method/x");
        request.Headers.Add("dapr-app-id", "orders");
        JsonElement seen = await (await http.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/v1.0/invoke/elsewhere/method/x", seen.GetProperty("path").GetString()); // the header wins over the path
        Assert.Equal("", seen.GetProperty("appIdHeader").GetString());
    }

    [Fact]
    public async Task Basic_authorization_with_dapr_app_id_names_the_target_and_is_forwarded()
    {
        using var http = new HttpClient { BaseAddress = _rig.Caller.HttpEndpoint };
        string credential = Convert.ToBase64String(Encoding.UTF8.GetBytes("dapr-app-id:orders"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello/basic");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credential);
        using HttpResponseMessage response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement seen = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/hello/basic", seen.GetProperty("path").GetString());
        Assert.Equal("Basic " + credential, seen.GetProperty("authorization").GetString());
    }

    [Fact]
    public async Task Basic_authorization_for_another_user_is_not_a_target()
    {
        using var http = new HttpClient { BaseAddress = _rig.Caller.HttpEndpoint };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ana:orders")));
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Without_a_target_the_sidecar_answers_404_ERR_DIRECT_INVOKE()
    {
        using var http = new HttpClient { BaseAddress = _rig.Caller.HttpEndpoint };
        using HttpResponseMessage response = await http.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        JsonElement error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        Assert.Equal("failed getting app id either from the URL path or the header dapr-app-id", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_app_id_with_its_namespace_reaches_the_app_and_another_namespace_does_not()
    {
        using HttpClient own = DaprClient.CreateInvokeHttpClient("orders.default", _rig.Caller.HttpEndpoint.ToString());
        Assert.Equal("/ns", (await own.GetFromJsonAsync<JsonElement>("/ns")).GetProperty("path").GetString());

        using HttpClient other = DaprClient.CreateInvokeHttpClient("orders.prod", _rig.Caller.HttpEndpoint.ToString());
        using HttpResponseMessage response = await other.GetAsync("/ns");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("couldn't find service: orders.prod", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
