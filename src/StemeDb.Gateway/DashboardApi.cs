namespace StemeDb.Gateway;

/// <summary>
/// The dashboard at <c>/</c>: one page, its script and its stylesheet, embedded in the gateway (no build
/// toolchain, no CDN, works offline). The page holds no data: it calls the public API, with the API key
/// when the gateway wants one, so it honours <c>Gateway:ApiKeys</c> like any other client. A strict
/// Content-Security-Policy allows only this origin's scripts, styles and calls.
/// </summary>
public static class DashboardApi
{
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var files = new (string Path, string Resource, string ContentType)[]
        {
            ("/", "index.html", "text/html; charset=utf-8"),
            ("/dashboard/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
            ("/dashboard/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
        };
        foreach ((string path, string resource, string contentType) in files)
        {
            byte[] content = Read(resource);
            app.MapGet(path, (HttpContext context) =>
            {
                context.Response.Headers.ContentSecurityPolicy = Policy;
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers.CacheControl = "no-cache";
                return Results.Bytes(content, contentType);
            }).ExcludeFromDescription();
        }

        return app;
    }

    private static byte[] Read(string name)
    {
        using Stream stream = typeof(DashboardApi).Assembly.GetManifestResourceStream("StemeDb.Gateway.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard's {name} is not embedded in {typeof(DashboardApi).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
