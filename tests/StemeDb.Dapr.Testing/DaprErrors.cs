using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing;

/// <summary>The sidecar's own error answers.</summary>
public static class DaprErrors
{
    public const string DirectInvoke = "ERR_DIRECT_INVOKE";

    // Go's encoder leaves ' and non-ASCII as they are ("couldn't find service"); the default one would escape them.
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>{"errorCode":"ERR_…","message":"…"}</c>.</summary>
    // daprd: pkg/api/http/directmessaging.go onDirectMessage; pkg/api/errors/pubsub.go NotFound, PublishForbidden
    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { errorCode = code, message }, Json), context.RequestAborted);
    }

    /// <summary>An invocation that failed in the sidecar, not in the app: always 500.</summary>
    // daprd: pkg/api/http/directmessaging.go onDirectMessage
    public static Task InvokeFailedAsync(HttpContext context, string appId, string cause) =>
        WriteAsync(context, 500, DirectInvoke, $"failed to invoke, id: {appId}, err: {cause}");

    /// <summary>A missing or wrong <c>dapr-api-token</c>: plain text, not the JSON error body.</summary>
    // daprd: pkg/api/http/middlewares.go APITokenAuthMiddleware
    public static Task InvalidApiTokenAsync(HttpContext context)
    {
        context.Response.StatusCode = 401;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("invalid api token", context.RequestAborted);
    }
}
