using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing;

/// <summary>Which headers service invocation passes on between the caller, the app and back, and which it adds.</summary>
public static class InvocationHeaders
{
    /// <summary>Headers never passed on, either way; also the names a <c>Connection</c> header lists.</summary>
    // daprd: pkg/messaging/v1/util.go InternalMetadataToHTTPHeader; pkg/channel/http/http_channel.go copyHeader
    public static bool IsHopByHop(string name) =>
        name.ToLowerInvariant() is "connection" or "keep-alive" or "proxy-connection" or "transfer-encoding" or "upgrade"
            or "http2-settings" or "te" or "trailer" or "proxy-authorization" or "proxy-authenticate" or "content-length"
        || name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The caller's headers that reach the callee: not hop-by-hop, not <c>Host</c> (the app URL sets it),
    /// not <c>dapr-app-id</c>, and not the caller's <c>dapr-api-token</c> when its sidecar checks one.
    /// </summary>
    // daprd: pkg/api/http/directmessaging.go findTargetIDAndMethod (dapr-app-id removed); pkg/api/http/middlewares.go APITokenAuthMiddleware
    public static List<KeyValuePair<string, string[]>> FromCaller(IHeaderDictionary headers, bool callerChecksApiToken)
    {
        var listed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string? value in headers.Connection)
        {
            foreach (string name in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                listed.Add(name);
            }
        }

        var passed = new List<KeyValuePair<string, string[]>>();
        foreach ((string name, Microsoft.Extensions.Primitives.StringValues values) in headers)
        {
            if (IsHopByHop(name) || listed.Contains(name) || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
                || name.Equals("dapr-app-id", StringComparison.OrdinalIgnoreCase)
                || (callerChecksApiToken && name.Equals("dapr-api-token", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            passed.Add(new(name, values.Select(v => v ?? "").ToArray()));
        }

        return passed;
    }

    /// <summary>
    /// What the caller's sidecar adds for a remote callee: <c>X-Forwarded-For</c>, <c>X-Forwarded-Host</c> and
    /// <c>Forwarded</c> appended, then the caller, its namespace and the callee named.
    /// </summary>
    // daprd: pkg/messaging/direct_messaging.go invokeRemote, addForwardedHeadersToMetadata
    public static void AddForRemoteCallee(List<KeyValuePair<string, string[]>> headers, string hostAddress, string hostName, string callerAppId, string callerNamespace, string calleeAppId)
    {
        Append(headers, "X-Forwarded-For", hostAddress);
        Append(headers, "X-Forwarded-Host", hostName);
        Append(headers, "Forwarded", $"for={hostAddress};by={hostAddress};host={hostName}");
        Set(headers, "dapr-caller-app-id", callerAppId);
        Set(headers, "dapr-caller-namespace", callerNamespace);
        Set(headers, "dapr-callee-app-id", calleeAppId);
    }

    public static string? Get(List<KeyValuePair<string, string[]>> headers, string name) =>
        headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    public static void Set(List<KeyValuePair<string, string[]>> headers, string name, string value)
    {
        headers.RemoveAll(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
        headers.Add(new(name, [value]));
    }

    /// <summary>Puts the headers on a request, the content ones (<c>Content-Type</c>…) on its content.</summary>
    public static void Apply(List<KeyValuePair<string, string[]>> headers, HttpRequestMessage request)
    {
        foreach ((string name, string[] values) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, values))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }
    }

    /// <summary>The app's answer as it is: status, headers (but hop-by-hop ones) and body.</summary>
    // daprd: pkg/api/http/directmessaging.go onDirectMessage (app responses return unchanged)
    public static async Task CopyResponseAsync(HttpResponseMessage from, byte[] body, HttpResponse to, CancellationToken cancellationToken)
    {
        to.StatusCode = (int)from.StatusCode;
        foreach ((string name, IEnumerable<string> values) in from.Headers.Concat<KeyValuePair<string, IEnumerable<string>>>(from.Content.Headers))
        {
            if (!IsHopByHop(name))
            {
                to.Headers[name] = values.ToArray();
            }
        }

        if (body.Length > 0)
        {
            await to.Body.WriteAsync(body, cancellationToken);
        }
    }

    private static void Append(List<KeyValuePair<string, string[]>> headers, string name, string value)
    {
        int index = headers.FindIndex(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            headers.Add(new(name, [value]));
        }
        else
        {
            headers[index] = new(headers[index].Key, [.. headers[index].Value, value]);
        }
    }
}
