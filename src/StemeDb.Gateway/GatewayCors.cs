namespace StemeDb.Gateway;

/// <summary>
/// Restrictive CORS: no origin is allowed unless listed in <c>Gateway:CorsOrigins</c>; credentials only with
/// explicit origins (<c>*</c> with <c>Gateway:CorsAllowCredentials</c> is refused at start, see
/// <see cref="GatewayOptions"/>); preflights are answered for the listed origins only, for GET, POST and
/// DELETE with the content type and the API key header.
/// </summary>
public static class GatewayCors
{
    private const string Policy = "configured-origins";

    public static IServiceCollection AddGatewayCors(this IServiceCollection services, GatewayOptions options) =>
        services.AddCors(cors => cors.AddPolicy(Policy, policy =>
        {
            policy.WithOrigins([.. options.CorsOrigins]).WithMethods("GET", "POST", "DELETE").WithHeaders("content-type", GatewayApp.ApiKeyHeader);
            if (options.CorsAllowCredentials)
            {
                policy.AllowCredentials();
            }
        }));

    public static WebApplication UseGatewayCors(this WebApplication app, GatewayOptions options)
    {
        if (options.CorsOrigins.Count > 0)
        {
            app.UseCors(Policy);
        }

        // A preflight the policy did not answer (an unlisted origin, or no origins configured) gets 204 with no
        // Access-Control-Allow-Origin: the browser then refuses the real request. Without this it fell through
        // to routing and got 405, which says "wrong method" about a request that is only a question.
        app.Use(async (context, next) =>
        {
            HttpRequest request = context.Request;
            if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Origin") && request.Headers.ContainsKey("Access-Control-Request-Method"))
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            await next(context);
        });
        return app;
    }
}
