using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// The invoked method as daprd derives it (daprd-behaviour §1): the path decoded once, refused when it
/// holds <c>#</c>, <c>?</c> or control bytes, cleaned, and rebuilt into the app URL as a string.
/// </summary>
public sealed class MethodPathTests : IAsyncLifetime
{
    private InvocationRig _rig = null!;

    public async Task InitializeAsync()
    {
        // The app reports the request target it got on the wire and what ASP.NET Core decoded from it.
        _rig = await InvocationRig.StartAsync(app => app.Run(c => c.Response.WriteAsJsonAsync(new
        {
            raw = c.Features.Get<IHttpRequestFeature>()!.RawTarget,
            path = c.Request.Path.Value,
        })));
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Theory]
    [InlineData("a%2Fb", "/a/b", "/a/b")] // decoded once: the app sees a real slash
    [InlineData("%2541", "/%41", "/A")] // %25 decoded once leaves %41 in the URL: the app decodes it again
    [InlineData("a//b", "/a/b", "/a/b")] // path.Clean collapses //
    [InlineData("a/../b", "/b", "/b")] // .. resolved
    [InlineData("a%2F..%2Fb", "/b", "/b")] // .. resolved after decoding
    [InlineData("a/b/", "/a/b", "/a/b")] // trailing slash dropped
    [InlineData("../../a", "/a", "/a")] // leading ../ stripped
    [InlineData("a%20b", "/a%20b", "/a b")] // re-escaped on the way out
    [InlineData("a?x=%2F&y=1", "/a?x=%2F&y=1", "/a")] // the raw query passes unchanged
    public async Task The_method_is_decoded_once_cleaned_and_rebuilt_into_the_app_url(string method, string appTarget, string appPath)
    {
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.SendAsync(TestApps.Raw(HttpMethod.Get, _rig.Caller.HttpEndpoint, "/v1.0/invoke/orders/method/" + method));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement seen = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(appTarget, seen.GetProperty("raw").GetString());
        Assert.Equal(appPath, seen.GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("a%23b", "invalid method")] // #
    [InlineData("a%3Fb", "invalid method")] // ?
    [InlineData("a%0Db", "invalid method")] // CR
    [InlineData("a%7Fb", "invalid method")] // DEL
    [InlineData("%25", "invalid URL escape")] // a bare % in the rebuilt URL: Go's parser fails
    public async Task Methods_that_would_change_the_app_url_are_refused_with_ERR_DIRECT_INVOKE(string method, string cause)
    {
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.SendAsync(TestApps.Raw(HttpMethod.Get, _rig.Caller.HttpEndpoint, "/v1.0/invoke/orders/method/" + method));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        JsonElement error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.StartsWith("failed to invoke, id: orders, err: ", message, StringComparison.Ordinal);
        Assert.Contains(cause, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_NUL_never_reaches_the_app()
    {
        // Kestrel itself refuses a decoded NUL (400) before the stand-in sees the request; daprd would answer
        // 500 ERR_DIRECT_INVOKE. Either way the app is not called, and NormalizeMethod refuses it.
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.SendAsync(TestApps.Raw(HttpMethod.Get, _rig.Caller.HttpEndpoint, "/v1.0/invoke/orders/method/a%00b"));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.InternalServerError, response.StatusCode.ToString());
        Assert.Null(MethodPath.Normalize("a\0b"));
    }

    [Theory]
    [InlineData("a/b", "a/b")]
    [InlineData("/a", "a")]
    [InlineData("a/./b", "a/b")]
    [InlineData("a/..", "")]
    [InlineData("", "")]
    [InlineData("a/../../b", "b")]
    [InlineData("a#b", null)]
    [InlineData("a\tb", null)]
    public void Normalize_follows_NormalizeMethod(string method, string? expected) => Assert.Equal(expected, MethodPath.Normalize(method));
}
