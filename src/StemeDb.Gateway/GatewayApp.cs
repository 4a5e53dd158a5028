using Polly;
using StemeDb.Cluster.Configuration;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Hosting;

namespace StemeDb.Gateway;

/// <summary>Builds the gateway; the process entry point and the in-process tests share it.</summary>
public static class GatewayApp
{
    public const string ApiKeyHeader = "X-Api-Key";

    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder.Configuration);
        var errors = new List<string>();
        GatewayOptions options = StrictOptions.Bind<GatewayOptions>(builder.Configuration, GatewayOptions.SectionName, errors);
        options.Validate(errors);
        string? appToken = builder.Configuration[DaprAppToken.Variable];
        ExposureRules.CheckGatewayToNodes(options.Transport == Transport.Direct ? options.Seeds : [], options.Transport, options.ClusterToken, $"{GatewayOptions.SectionName}:ClusterToken", errors);
        if (options.Transport == Transport.Dapr)
        {
            // With Dapr the gateway takes meta-range and membership deliveries: off loopback only its sidecar may post them.
            ExposureRules.CheckInternalApi(NetworkExposure.Of(builder.Configuration), Transport.Dapr, null, $"{GatewayOptions.SectionName}:ClusterToken", appToken, [], errors);
        }
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        builder.AddServiceDefaults(options.MaxBodyBytes);
        builder.AddTelemetry("stemedb-gateway", builder.Configuration["urls"] ?? Environment.MachineName);
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<MembershipEventLog>();
        builder.Services.AddSingleton<RoutingTable>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RoutingTable>());
        builder.Services.AddSingleton<OwnerClient>();
        IHttpClientBuilder nodes = builder.Services.AddHttpClient("nodes", c => c.Timeout = Timeout.InfiniteTimeSpan); // per request, in OwnerClient
        // No per-request HttpClient log scopes and start/end messages: they formatted the URI of every
        // request even with logging off (seen in an allocation profile); failures are logged by the callers.
        nodes.RemoveAllLoggers();
        // One retry layer: the owner client's. It knows what a node's answer means (421: refresh and resend;
        // 503 retryElsewhere: the next replica; no answer: demote and fail over), so below it a request
        // only gets a deadline. A generic handler's retry and breaker count a node's own 421 and 503 as
        // failures: it resent them to the same node and, after a burst during a split, opened the breaker
        // and the gateway demoted a live leader. Dapr's resiliency (components/resiliency.yaml) neither
        // retries nor breaks invocations, for the same reason.
        nodes.AddResilienceHandler("node-deadline", pipeline => pipeline.AddTimeout(options.RequestTimeout));
        if (!string.IsNullOrEmpty(options.ClusterToken))
        {
            nodes.AddHttpMessageHandler(() => new StaticHeaderHandler(InternalHeaderNames.ClusterToken, options.ClusterToken));
        }
        // Concurrent writes, reads and retractions bound for the same node travel together (BatchApi on the node).
        nodes.AddHttpMessageHandler(sp => new CoalescingHandler([InternalRoutes.Write, InternalRoutes.Query, InternalRoutes.Retract], sp.GetRequiredService<TimeProvider>()));
        if (options.Transport == Transport.Dapr)
        {
            builder.Services.AddDaprClient();
            nodes.AddSidecarInvocation(builder.Configuration);
        }
        else
        {
            builder.Services.AddHostedService<NodeEventFollower>(); // membership changes as they happen (the topic's role with Dapr)
        }

        builder.Services.AddGatewayCors(options);

        WebApplication app = builder.Build();
        app.UseServiceDefaults();
        app.UseGatewayCors(options);

        // With API keys configured, every /v1 request needs one (preflights carry none).
        app.UseHeaderToken(
            ApiKeyHeader,
            options.ApiKeys,
            request => request.Path.StartsWithSegments("/v1") && !HttpMethods.IsOptions(request.Method),
            "API key required",
            $"Send a configured key in the {ApiKeyHeader} header.");
        if (options.Transport == Transport.Dapr)
        {
            // Deliveries and subscription discovery come from the sidecar, which adds the app token.
            app.UseHeaderToken(
                DaprAppToken.Header,
                string.IsNullOrEmpty(appToken) ? [] : [appToken],
                request => !request.Path.StartsWithSegments("/v1") && !Telemetry.IsOpen(request) && !request.Path.StartsWithSegments("/openapi"),
                "Missing or wrong app API token",
                $"Event deliveries to this gateway need the {DaprAppToken.Header} header that its sidecar adds.");
            app.UseCloudEvents();
            app.MapSubscribeHandler();
            app.MapMetaRangeSubscription(options.PubSubName, (services, update) => services.GetRequiredService<RoutingTable>().Accept(update));
            app.MapPost("/events/membership", (MembershipEventDto? change, RoutingTable table) =>
            {
                if (change is null || string.IsNullOrEmpty(change.MemberId) || string.IsNullOrEmpty(change.State))
                {
                    return Results.Ok(new { status = "DROP" });
                }

                table.Apply(change.Member, change);
                return Results.Ok(new { status = "SUCCESS" });
            }).WithTopic(options.PubSubName, Topics.Membership);
        }

        app.MapOpenApi();
        app.MapMetrics();
        app.MapAssertionsApi();
        app.MapClusterApi();
        app.MapDashboardApi();
        app.MapEventStreamApi();
        return app;
    }
}
