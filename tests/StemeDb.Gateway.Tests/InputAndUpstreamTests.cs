using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using StemeDb.Contracts;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>Client mistakes and upstream failures, against a fake node that misbehaves on purpose.</summary>
public sealed class InputAndUpstreamTests : IAsyncLifetime
{
    private FakeNode _node = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _node = await FakeNode.StartAsync();
        _gateway = await GatewayHost.StartAsync([_node.Url], new() { ["Gateway:MaxBatch"] = "3", ["Gateway:MaxBodyBytes"] = "4096" });
        await _gateway.WaitReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _node.DisposeAsync();
    }

    private const string Good = "{\"subject\":\"s\",\"predicate\":\"p\",\"object\":1}";

    // method, path, content type, body, expected status, a fragment of the problem body
    public static TheoryData<string, string, string?, string?, int, string> BadInputs => new()
    {
        { "POST", "/v1/assertions", "application/json", "{\"subject\": ", 400, "not valid JSON" },
        { "POST", "/v1/assertions", "application/json", "[1,2]", 400, "must be an assertion object" },
        { "POST", "/v1/assertions", "application/json", "\"text\"", 400, "must be an assertion object" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":42,\"predicate\":\"p\",\"object\":1}", 400, "subject must be a string" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":[],\"object\":1}", 400, "predicate must be a string" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"\",\"predicate\":\"p\",\"object\":1}", 400, "subject must be 1 to 1024 bytes" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"" + new string('s', 1025) + "\",\"predicate\":\"p\",\"object\":1}", 400, "subject must be 1 to 1024 bytes" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"" + new string('p', 257) + "\",\"object\":1}", 400, "predicate must be 1 to 256 bytes" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"p\"}", 400, "object is required" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"p\",\"object\":1,\"confidence\":2}", 400, "confidence must be a number from 0 to 1" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"p\",\"object\":1,\"confidence\":\"high\"}", 400, "confidence must be a number" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"p\",\"object\":1,\"colour\":\"red\"}", 400, "colour is not a field" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"p\",\"object\":{\"k\":1,\"k\":2}}", 400, "has the key 'k' twice" },
        { "POST", "/v1/assertions", "application/json", "{\"assertions\":{}}", 400, "assertions must be an array" },
        { "POST", "/v1/assertions", "application/json", "{\"assertions\":[]}", 400, "at least one" },
        { "POST", "/v1/assertions", "application/json", "{\"assertions\":[" + Good + "," + Good + "," + Good + "," + Good + "]}", 413, "at most 3" },
        { "POST", "/v1/assertions", "application/json", "{\"assertions\":[" + Good + ",7]}", 400, "assertions[1] must be an object" },
        { "POST", "/v1/assertions", "application/json", "{\"subject\":\"s\",\"predicate\":\"p\",\"object\":\"" + new string('x', 5000) + "\"}", 413, "larger than 4096 bytes" },
        { "POST", "/v1/assertions", "text/plain", Good, 415, "application/json" },
        { "POST", "/v1/assertions", null, Good, 415, "application/json" },
        { "PUT", "/v1/assertions", "application/json", Good, 405, "" },
        { "GET", "/v1/subjects/" + new string('s', 1100) + "/assertions", null, null, 400, "at most 1024" },
        { "GET", "/v1/subjects/s/assertions?history=perhaps", null, null, 400, "history" },
        { "GET", "/v1/assertions?subject=s&history=maybe", null, null, 400, "\"maybe\"" },
        { "DELETE", "/v1/subjects/s/assertions/not-an-id", null, null, 400, "64 hex digits" },
        { "GET", InternalRoutes.MetaRange, null, null, 404, "" },
        { "GET", "/v1/nothing-here", null, null, 404, "" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_gets_its_status_and_a_problem_body(string method, string path, string? contentType, string? body, int status, string fragment)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
            }
        }

        using HttpResponseMessage response = await _gateway.Http.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        if (fragment.Length > 0)
        {
            Assert.Contains(fragment, problem.RootElement.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Invalid_UTF8_in_the_body_is_a_400()
    {
        using var content = new ByteArrayContent([.. "{\"subject\":\""u8, 0xC3, 0x28, .. "\",\"predicate\":\"p\",\"object\":1}"u8]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using HttpResponseMessage response = await _gateway.Http.PostAsync("/v1/assertions", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task An_owner_that_does_not_answer_in_time_is_a_504()
    {
        _node.Behaviour = async c => await Task.Delay(TimeSpan.FromSeconds(10), c.RequestAborted);
        using HttpResponseMessage response = await Post(Good);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("did not answer", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_broken_owner_answer_is_a_502()
    {
        _node.Behaviour = c => c.Response.WriteAsync("this is not json");
        Assert.Equal(HttpStatusCode.BadGateway, (await Post(Good)).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await _gateway.Http.GetAsync("/v1/subjects/s/assertions")).StatusCode);
        _node.Behaviour = c =>
        {
            c.Response.StatusCode = 500;
            return Task.CompletedTask;
        };
        Assert.Equal(HttpStatusCode.BadGateway, (await Post(Good)).StatusCode);
    }

    [Fact]
    public async Task An_owner_4xx_passes_through_with_its_body()
    {
        _node.Behaviour = c => Results.Problem(statusCode: 404, title: "No such assertion", detail: "owner says: not here").ExecuteAsync(c);
        using HttpResponseMessage response = await _gateway.Http.DeleteAsync($"/v1/subjects/s/assertions/{new string('a', 64)}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("owner says: not here", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task No_live_replica_is_a_503()
    {
        _node.State = "dead";
        HttpStatusCode status = default;
        await Poll.UntilAsync(
            async () => (status = (await Post(Good)).StatusCode) == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(10),
            "a write is answered 503 once the only replica is dead",
            step: TimeSpan.FromMilliseconds(200),
            diagnostics: () => Task.FromResult($"the last answer: {status}"));
    }

    [Fact]
    public async Task CORS_preflight_is_answered_for_a_listed_origin_only()
    {
        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/v1/assertions");
        allowed.Headers.Add("Origin", GatewayHost.AllowedOrigin);
        allowed.Headers.Add("Access-Control-Request-Method", "POST");
        using HttpResponseMessage yes = await _gateway.Http.SendAsync(allowed);
        Assert.Equal(GatewayHost.AllowedOrigin, yes.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var refused = new HttpRequestMessage(HttpMethod.Options, "/v1/assertions");
        refused.Headers.Add("Origin", "https://evil.example");
        refused.Headers.Add("Access-Control-Request-Method", "POST");
        using HttpResponseMessage no = await _gateway.Http.SendAsync(refused);
        Assert.False(no.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.NoContent, no.StatusCode); // as the README says; it was 405

        using var simple = new HttpRequestMessage(HttpMethod.Get, "/v1/cluster/members");
        simple.Headers.Add("Origin", "https://evil.example");
        using HttpResponseMessage plain = await _gateway.Http.SendAsync(simple);
        Assert.False(plain.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("/v1/nothing-here", 404)]
    [InlineData("/v1/assertions?subject=s&history=maybe", 400)]
    public async Task An_error_is_a_problem_body_whatever_the_client_accepts(string path, int status)
    {
        // Found by the gateway fuzzer: with an Accept naming no JSON type the answer was text/plain (404) or empty (400).
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", "text/html");
        using HttpResponseMessage answer = await _gateway.Http.SendAsync(request);
        Assert.Equal(status, (int)answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task The_dashboard_is_served_with_a_strict_policy_and_asks_the_api_for_everything_with_the_key()
    {
        using HttpResponseMessage page = await _gateway.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'; script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("/dashboard/dashboard.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        string script = await _gateway.Http.GetStringAsync("/dashboard/dashboard.js");
        Assert.Contains("X-Api-Key", script, StringComparison.Ordinal); // the key goes with every data call
        Assert.DoesNotContain("http://", script, StringComparison.Ordinal); // nothing from another origin (no CDN)
        Assert.Equal("text/css", (await _gateway.Http.GetAsync("/dashboard/dashboard.css")).Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task With_no_origins_configured_a_preflight_is_204_without_an_allowed_origin()
    {
        await using GatewayHost bare = await GatewayHost.StartAsync([_node.Url], new() { ["Gateway:CorsOrigins:0"] = null });
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/assertions");
        preflight.Headers.Add("Origin", GatewayHost.AllowedOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using HttpResponseMessage answer = await bare.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode); // was 405: the README says 204
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_public_API()
    {
        using JsonDocument document = JsonDocument.Parse(await _gateway.Http.GetStringAsync("/openapi/v1.json"));
        JsonElement paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/v1/assertions", out _));
        Assert.True(paths.TryGetProperty("/v1/subjects/{subject}/assertions", out _));
        Assert.True(paths.TryGetProperty("/v1/cluster/ranges", out _));
        Assert.DoesNotContain(paths.EnumerateObject(), p => p.Name.StartsWith("/internal", StringComparison.Ordinal));
    }

    private Task<HttpResponseMessage> Post(string json) =>
        _gateway.Http.PostAsync("/v1/assertions", new StringContent(json, Encoding.UTF8, "application/json"));
}
