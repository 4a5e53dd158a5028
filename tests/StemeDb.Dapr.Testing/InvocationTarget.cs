using System.Text;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing;

/// <summary>The app a service invocation is for, and the (not yet normalized) method, as daprd finds them.</summary>
public readonly record struct InvocationTarget(string AppId, string Method)
{
    private const string InvokePrefix = "/v1.0/invoke/";
    private const string MethodSeparator = "/method/";

    /// <summary>
    /// The <c>dapr-app-id</c> header first (the whole path is the method), then
    /// <c>Authorization: Basic base64("dapr-app-id:&lt;id&gt;")</c>, then <c>/v1.0/invoke/&lt;id&gt;/method/&lt;m&gt;</c>;
    /// null when none names an app. <paramref name="decodedPath"/> is the path decoded once.
    /// </summary>
    // daprd: pkg/api/http/directmessaging.go findTargetIDAndMethod
    public static InvocationTarget? Find(string decodedPath, IHeaderDictionary headers)
    {
        if (headers.TryGetValue("dapr-app-id", out var header) && !string.IsNullOrEmpty(header.ToString()))
        {
            return new InvocationTarget(header.ToString(), decodedPath.TrimStart('/'));
        }

        if (headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Basic ", StringComparison.Ordinal))
        {
            try
            {
                string[] pair = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim())).Split(':');
                if (pair.Length == 2 && pair[0] == "dapr-app-id" && pair[1].Length > 0)
                {
                    return new InvocationTarget(pair[1], decodedPath.TrimStart('/'));
                }
            }
            catch (FormatException)
            {
                // Not base64: an ordinary credential for the app, not a target.
            }
        }

        if (decodedPath.StartsWith(InvokePrefix, StringComparison.Ordinal))
        {
            string rest = decodedPath[InvokePrefix.Length..];
            int separator = rest.IndexOf(MethodSeparator, StringComparison.Ordinal);
            if (separator > 0)
            {
                return new InvocationTarget(rest[..separator], rest[(separator + MethodSeparator.Length)..]);
            }
        }

        return null;
    }

    /// <summary><c>a.b</c> is app <c>a</c> in namespace <c>b</c>.</summary>
    // daprd: pkg/messaging/direct_messaging.go requestAppIDAndNamespace
    public (string App, string? Namespace) Split()
    {
        int dot = AppId.LastIndexOf('.');
        return dot > 0 ? (AppId[..dot], AppId[(dot + 1)..]) : (AppId, null);
    }
}
