using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// W3C trace context as the sidecar passes it on: its own span is a child of the caller's (same trace id,
/// new parent id), or the root of a new trace when the caller sent none.
/// </summary>
public static partial class TraceContext
{
    // daprd: pkg/channel/http/http_channel.go constructRequest (the sidecar's span wins if it has a trace id)
    public static string ChildOf(string? traceparent)
    {
        string span = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        if (traceparent is not null && W3C().Match(traceparent.Trim()) is { Success: true } parent)
        {
            return $"00-{parent.Groups["trace"].Value}-{span}-{parent.Groups["flags"].Value}";
        }

        return $"00-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}-{span}-01";
    }

    public static bool IsValid(string? traceparent) => traceparent is not null && W3C().IsMatch(traceparent.Trim());

    [GeneratedRegex("^[0-9a-f]{2}-(?<trace>[0-9a-f]{32})-[0-9a-f]{16}-(?<flags>[0-9a-f]{2})$")]
    private static partial Regex W3C();
}
