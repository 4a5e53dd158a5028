using System.Security.Cryptography;
using System.Text;

namespace StemeDb.Node;

/// <summary>
/// Dapr's app API token: when <c>APP_API_TOKEN</c> is set, the sidecar sends it in the <c>dapr-api-token</c>
/// header of every call to the app, and the app refuses calls without it (401), so only its sidecar (or
/// a peer that knows the token) can reach the internal API. Health checks stay open for the probes.
/// </summary>
public static class AppApiToken
{
    public const string Variable = "APP_API_TOKEN";
    public const string Header = "dapr-api-token";

    public static IApplicationBuilder UseAppApiToken(this IApplicationBuilder app, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return app;
        }

        byte[] expected = Encoding.UTF8.GetBytes(token);
        return app.Use(async (context, next) =>
        {
            PathString path = context.Request.Path;
            bool open = path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");
            byte[] given = Encoding.UTF8.GetBytes(context.Request.Headers[Header].ToString());
            if (!open && !CryptographicOperations.FixedTimeEquals(given, expected))
            {
                await Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Missing or wrong app API token",
                    detail: $"Every request to this node needs the {Header} header that its sidecar adds.").ExecuteAsync(context);
                return;
            }

            await next(context);
        });
    }
}
