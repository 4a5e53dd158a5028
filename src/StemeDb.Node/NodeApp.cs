using StemeDb.Cluster.Configuration;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>Builds the node app; the process entry point and the in-process tests share it.</summary>
public static class NodeApp
{
    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder.Configuration);

        // Configuration errors name every bad setting and stop the start, before anything is touched.
        ClusterConfig cluster = ClusterConfig.Bind(builder.Configuration);
        var node = new NodeOptions();
        builder.Configuration.GetSection(NodeOptions.SectionName).Bind(node);
        var storage = new StorageOptions();
        builder.Configuration.GetSection(StorageOptions.SectionName).Bind(storage);
        var errors = new List<string>();
        node.Validate(errors);
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 4 << 20);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(cluster);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(_ => RocksDbAssertionStore.Open(storage, cluster.Sharding.ShardCount));
        if (node.UsesDapr)
        {
            builder.Services.AddDaprClient();
            builder.Services.AddSingleton<IClusterBus, DaprClusterBus>();
        }
        else
        {
            builder.Services.AddSingleton<IClusterBus, DirectClusterBus>();
        }

        builder.Services.AddSingleton<ClusterNode>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterNode>());
        builder.Services.AddSingleton<Replicator>();
        builder.Services.AddSingleton<RangeWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RangeWorker>());
        string? token = builder.Configuration[AppApiToken.Variable];
        IHttpClientBuilder peers = builder.Services.AddHttpClient("peers", c =>
        {
            c.Timeout = TimeSpan.FromSeconds(10);
            // With the direct adapter, peers call each other with the token their own sidecar would add.
            if (!string.IsNullOrEmpty(token) && !node.UsesDapr)
            {
                c.DefaultRequestHeaders.Add(AppApiToken.Header, token);
            }
        });
        peers.RemoveAllLoggers(); // no per-request log scopes on the replication and read paths; callers log failures
        if (node.UsesDapr)
        {
            // http://{app-id}/path becomes {sidecar}/v1.0/invoke/{app-id}/method/path, with DAPR_API_TOKEN.
            // The sidecar's HTTP endpoint from configuration (the Dapr CLI's environment, or settings), as
            // AddDaprClient reads it; the handler alone would read only process-wide environment variables.
            string sidecar = builder.Configuration["DAPR_HTTP_ENDPOINT"]
                ?? $"http://127.0.0.1:{builder.Configuration["DAPR_HTTP_PORT"] ?? "3500"}";
            // DAPR_API_TOKEN likewise from configuration: with API token authentication on, the sidecar refuses calls without it.
            string? daprToken = builder.Configuration["DAPR_API_TOKEN"];
            peers.AddHttpMessageHandler(() => new Dapr.Client.InvocationHandler { DaprEndpoint = sidecar });
            if (!string.IsNullOrEmpty(daprToken))
            {
                peers.AddHttpMessageHandler(() => new Cluster.Wire.StaticHeaderHandler("dapr-api-token", daprToken));
            }
        }

        WebApplication app = builder.Build();
        // Open the store now: a foreign or torn data directory must stop the start, not the first request.
        app.Services.GetRequiredService<RocksDbAssertionStore>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAppApiToken(builder.Configuration[AppApiToken.Variable]);
        if (node.UsesDapr)
        {
            app.UseCloudEvents();
        }

        app.MapHealthApi();
        app.MapNodeApi();
        app.MapRangeApi();
        if (node.UsesDapr)
        {
            app.MapDaprApi(node);
        }

        return app;
    }
}
