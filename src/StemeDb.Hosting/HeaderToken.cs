using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Hosting;

/// <summary>
/// A shared secret in a request header, checked in constant time against any of the configured values:
/// Dapr's app token (<c>dapr-api-token</c>, which the sidecar adds) on a node, API keys (<c>X-Api-Key</c>)
/// on the gateway. Requests the check does not cover (health probes, CORS preflights) pass.
/// </summary>
public static class HeaderToken
{
    public static IApplicationBuilder UseHeaderToken(this IApplicationBuilder app, string header, IReadOnlyCollection<string> accepted, Func<HttpRequest, bool> covers, string title, string detail)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(accepted);
        if (accepted.Count == 0)
        {
            return app;
        }

        byte[][] keys = [.. accepted.Select(Encoding.UTF8.GetBytes)];
        return app.Use(async (context, next) =>
        {
            if (covers(context.Request))
            {
                byte[] given = Encoding.UTF8.GetBytes(context.Request.Headers[header].ToString());
                bool ok = false;
                foreach (byte[] key in keys)
                {
                    ok |= CryptographicOperations.FixedTimeEquals(given, key); // every key compared, whichever matches
                }

                if (!ok)
                {
                    await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: title, detail: detail).ExecuteAsync(context);
                    return;
                }
            }

            await next(context);
        });
    }

    /// <summary>The health probes stay open whatever else is protected.</summary>
    public static bool IsHealthProbe(HttpRequest request) =>
        request.Path.StartsWithSegments("/healthz") || request.Path.StartsWithSegments("/readyz");
}
