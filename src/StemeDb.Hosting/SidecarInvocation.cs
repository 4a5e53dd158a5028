using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Hosting;

/// <summary>Service invocation through the app's Dapr sidecar, for an HTTP client that calls other apps by app-id.</summary>
public static class SidecarInvocation
{
    /// <summary>
    /// <c>http://{app-id}/path</c> becomes <c>{sidecar}/v1.0/invoke/{app-id}/method/path</c>, with the
    /// sidecar's API token. Both come from configuration (the Dapr CLI's environment, or settings) as
    /// <c>AddDaprClient</c> reads them: Dapr's handler alone reads only process-wide environment variables.
    /// </summary>
    public static IHttpClientBuilder AddSidecarInvocation(this IHttpClientBuilder client, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(configuration);
        string sidecar = configuration["DAPR_HTTP_ENDPOINT"] ?? $"http://127.0.0.1:{configuration["DAPR_HTTP_PORT"] ?? "3500"}";
        string? token = configuration["DAPR_API_TOKEN"]; // with API token authentication on, the sidecar refuses calls without it
        client.AddHttpMessageHandler(() => new Dapr.Client.InvocationHandler { DaprEndpoint = sidecar });
        if (!string.IsNullOrEmpty(token))
        {
            client.AddHttpMessageHandler(() => new StaticHeaderHandler("dapr-api-token", token));
        }

        return client;
    }
}
