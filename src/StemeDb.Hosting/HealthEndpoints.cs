using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace StemeDb.Hosting;

/// <summary>The probes every app serves: <c>/healthz</c> (the process is up) and <c>/readyz</c> (it can serve).</summary>
public static class HealthEndpoints
{
    /// <param name="notReady">Why the app cannot serve yet, or null when it can.</param>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app, Func<IServiceProvider, string?> notReady)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(notReady);
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" })).WithTags("health");
        app.MapGet("/readyz", (HttpContext context) => notReady(context.RequestServices) is { } why
            ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: why)
            : Results.Ok(new { status = "ready" })).WithTags("health");
        return app;
    }
}
