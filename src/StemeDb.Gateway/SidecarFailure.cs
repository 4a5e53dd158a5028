using System.Text.Json;

namespace StemeDb.Gateway;

/// <summary>What a Dapr sidecar's own invocation failure says about the target node.</summary>
public enum SidecarFailureKind
{
    /// <summary>The node or its sidecar could not be reached, is unhealthy or did not answer in time.</summary>
    Unreachable,

    /// <summary>The sidecar's circuit breaker for the node and method is open: it counted failures, which may be the node's own answers.</summary>
    BreakerOpen,

    /// <summary>The sidecar refused the method itself (a path it will not invoke): no replica would get it.</summary>
    RefusedMethod,
}

/// <summary>
/// A Dapr sidecar answers an invocation it could not make with 500 and
/// <c>{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: X, err: cause"}</c>
/// (daprd pkg/api/http/directmessaging.go <c>onDirectMessage</c>); a node's own 500 is a problem+json
/// body. The cause is only in the message: an open breaker says "circuit breaker is open"
/// (pkg/resiliency), a refused method "invalid method" (pkg/messaging/method/normalize.go); every other
/// cause daprd gives (unknown id, connection refused, unhealthy app, deadline exceeded) means the node
/// was not reached.
/// </summary>
public sealed record SidecarFailure(SidecarFailureKind Kind, string Message)
{
    public static SidecarFailure? Classify(byte[] body)
    {
        string? message;
        try
        {
            using JsonDocument error = JsonDocument.Parse(body);
            JsonElement root = error.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("errorCode", out JsonElement code)
                || code.ValueKind != JsonValueKind.String
                || code.GetString() != "ERR_DIRECT_INVOKE")
            {
                return null;
            }

            message = root.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }

        message ??= "";
        SidecarFailureKind kind =
            message.Contains("circuit breaker is open", StringComparison.OrdinalIgnoreCase) ? SidecarFailureKind.BreakerOpen
            : message.Contains("invalid method", StringComparison.OrdinalIgnoreCase) ? SidecarFailureKind.RefusedMethod
            : SidecarFailureKind.Unreachable;
        return new SidecarFailure(kind, message);
    }
}
