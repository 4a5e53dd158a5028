namespace StemeDb.Dapr.Testing;

/// <summary>
/// How a sidecar reaches its own app (daprd's HTTP app channel): invocations, deliveries and the
/// subscription read all go through it, and it adds the app's <c>APP_API_TOKEN</c>.
/// </summary>
internal sealed class AppChannel(Uri appAddress, string? appApiToken)
{
    /// <summary>
    /// One client for every sidecar: no redirects followed, no cookies, no decompression, so the app's answer
    /// comes back as the app wrote it. Timeouts are per call (the resiliency policy's).
    /// </summary>
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public Uri AppAddress => appAddress;

    /// <summary>
    /// The request for an invoked method, its URL rebuilt from the decoded method and raw query; null with
    /// the parse error when Go would not parse it (a bare <c>%</c>).
    /// </summary>
    // daprd: pkg/channel/http/http_channel.go constructRequest
    public HttpRequestMessage? InvocationRequest(string httpMethod, string method, string rawQuery, List<KeyValuePair<string, string[]>> headers, HttpContent? content, out string? error)
    {
        Uri? uri = MethodPath.AppUri(appAddress, method, rawQuery, out error);
        if (uri is null)
        {
            return null;
        }

        var request = new HttpRequestMessage(new HttpMethod(httpMethod), uri) { Content = content };
        InvocationHeaders.Apply(headers, request);
        return request;
    }

    /// <summary>Sends to the app, with <c>dapr-api-token</c> set to the app token when there is one (replacing the caller's).</summary>
    // daprd: pkg/channel/http/http_channel.go constructRequest (APP_API_TOKEN)
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (appApiToken is not null)
        {
            request.Headers.Remove("dapr-api-token");
            request.Headers.TryAddWithoutValidation("dapr-api-token", appApiToken);
        }

        return Http.SendAsync(request, cancellationToken);
    }
}
