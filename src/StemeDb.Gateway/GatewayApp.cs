using System.Security.Cryptography;
using System.Text;
using Dapr;
using Microsoft.Extensions.Http.Resilience;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Wire;

namespace StemeDb.Gateway;

/// <summary>Builds the gateway; the process entry point and the in-process tests share it.</summary>
public static class GatewayApp
{
    public const string ApiKeyHeader = "X-Api-Key";
    private const string CorsPolicy = "configured-origins";

    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder.Configuration);
        var options = new GatewayOptions();
        builder.Configuration.GetSection(GatewayOptions.SectionName).Bind(options);
        List<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<RoutingTable>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RoutingTable>());
        builder.Services.AddSingleton<OwnerClient>();
        IHttpClientBuilder nodes = builder.Services.AddHttpClient("nodes", c => c.Timeout = Timeout.InfiniteTimeSpan); // per request, in OwnerClient
        // No per-request HttpClient log scopes and start/end messages: they formatted the URI of every
        // request even with logging off (seen in an allocation profile); failures are logged by the callers.
        nodes.RemoveAllLoggers();
        // The standard resilience handler: each attempt gets Gateway:RequestTimeout, transient failures
        // (connection errors, 5xx, 408, 429) are retried once more against the same node, and a node that
        // keeps failing trips the breaker. Retrying POST /internal/v1/assertions is safe: writes are
        // idempotent (an assertion's id is its content hash). Failing over to another replica is the
        // owner client's job, above this handler.
        nodes.AddStandardResilienceHandler(r =>
        {
            r.AttemptTimeout.Timeout = options.RequestTimeout;
            r.TotalRequestTimeout.Timeout = options.RequestTimeout * 3;
            r.Retry.MaxRetryAttempts = 1;
            r.Retry.Delay = TimeSpan.FromMilliseconds(100);
            r.CircuitBreaker.SamplingDuration = options.RequestTimeout * 4;
        }).SelectPipelineByAuthority(); // one breaker per node (its address or app-id), not one for all
        if (options.UsesDapr)
        {
            builder.Services.AddDaprClient();
            // The sidecar's HTTP endpoint from configuration (the Dapr CLI's environment, or settings), as
            // AddDaprClient reads it; the handler alone would read only process-wide environment variables.
            string sidecar = builder.Configuration["DAPR_HTTP_ENDPOINT"]
                ?? $"http://127.0.0.1:{builder.Configuration["DAPR_HTTP_PORT"] ?? "3500"}";
            // DAPR_API_TOKEN likewise from configuration: with API token authentication on, the sidecar refuses calls without it.
            string? daprToken = builder.Configuration["DAPR_API_TOKEN"];
            nodes.AddHttpMessageHandler(() => new Dapr.Client.InvocationHandler { DaprEndpoint = sidecar });
            if (!string.IsNullOrEmpty(daprToken))
            {
                nodes.AddHttpMessageHandler(() => new Cluster.Wire.StaticHeaderHandler("dapr-api-token", daprToken));
            }
        }

        // Restrictive CORS: nothing is allowed unless listed; credentials only with explicit origins.
        builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            policy.WithOrigins([.. options.CorsOrigins]).WithMethods("GET", "POST", "DELETE").WithHeaders("content-type", ApiKeyHeader);
            if (options.CorsAllowCredentials)
            {
                policy.AllowCredentials();
            }
        }));

        WebApplication app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (options.CorsOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }

        UseApiKeys(app, options.ApiKeys);
        if (options.UsesDapr)
        {
            app.UseCloudEvents();
            app.MapSubscribeHandler();
            app.MapPost("/events/meta-range", (MetaRangeDto? update, RoutingTable table) =>
            {
                try
                {
                    // Idempotent: the merge rule makes a duplicate a no-op.
                    return update?.Descriptors is null ? Results.Ok(new { status = "DROP" }) : ApplyAndSucceed(table, update);
                }
                catch (Exception e) when (e is Cluster.Errors.StemeDbClusterException or ArgumentException or FormatException or OverflowException)
                {
                    return Results.Ok(new { status = "DROP" }); // malformed: retrying cannot help
                }
            }).WithTopic(options.PubSubName, "meta-range");
            app.MapPost("/events/membership", (MembershipEventDto? change, RoutingTable table) =>
            {
                if (change?.Member is null)
                {
                    return Results.Ok(new { status = "DROP" });
                }

                table.Apply(change.Member with { State = change.Kind switch { "joined" => "alive", var k => k } });
                return Results.Ok(new { status = "SUCCESS" });
            }).WithTopic(options.PubSubName, "membership");
        }

        app.MapOpenApi();
        app.MapAssertionsApi();
        app.MapClusterApi();
        return app;
    }

    private static IResult ApplyAndSucceed(RoutingTable table, MetaRangeDto update)
    {
        table.Apply(update);
        return Results.Ok(new { status = "SUCCESS" });
    }

    /// <summary>With API keys configured, every /v1 request needs one (compared in constant time).</summary>
    private static void UseApiKeys(WebApplication app, List<string> keys)
    {
        if (keys.Count == 0)
        {
            return;
        }

        byte[][] accepted = [.. keys.Select(Encoding.UTF8.GetBytes)];
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/v1") && !HttpMethods.IsOptions(context.Request.Method))
            {
                byte[] given = Encoding.UTF8.GetBytes(context.Request.Headers[ApiKeyHeader].ToString());
                bool ok = false;
                foreach (byte[] key in accepted)
                {
                    ok |= CryptographicOperations.FixedTimeEquals(given, key);
                }

                if (!ok)
                {
                    await Results.Problem(statusCode: 401, title: "API key required", detail: $"Send a configured key in the {ApiKeyHeader} header.").ExecuteAsync(context);
                    return;
                }
            }

            await next(context);
        });
    }
}
