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

        return app;
    }
}
