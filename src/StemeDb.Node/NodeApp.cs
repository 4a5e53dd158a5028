using StemeDb.Cluster.Configuration;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>Builds the node app; the process entry point and the in-process tests share it.</summary>
public static class NodeApp
{
    /// <param name="configureServices">Replaces services after the defaults (tests: a clock of their own).</param>
    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null, Action<IServiceCollection>? configureServices = null)
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
        node.Validate(errors, seeded: cluster.Swim.Seeds.Count > 0);
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 4 << 20);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(cluster);
        builder.Services.AddSingleton(node);
        // The store belongs to this cluster: one made for another (another genesis) is refused at start.
        var clusterId = Cluster.Membership.ClusterId.FromGenesis(cluster.Name, cluster.Sharding.ShardCount, node.Founders(cluster.Node));
        builder.Services.AddSingleton(_ => RocksDbAssertionStore.Open(storage, cluster.Sharding.ShardCount, clusterId));
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
        builder.Services.AddSingleton<MetaRangeSync>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MetaRangeSync>());
        builder.Services.AddSingleton<PeerClient>();
        builder.Services.AddSingleton<FenceGate>();
        builder.Services.AddSingleton<StoreHealth>();
        builder.Services.AddSingleton<Coordinator>();
        builder.Services.AddSingleton<ConsensusAcceptor>();
        builder.Services.AddSingleton<DescriptorProposer>();
        builder.Services.AddSingleton<RangeData>();
        builder.Services.AddSingleton<RangeWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RangeWorker>());
        configureServices?.Invoke(builder.Services);
        string? token = builder.Configuration[AppApiToken.Variable];
        IHttpClientBuilder peers = builder.Services.AddHttpClient(PeerClient.HttpClientName, c =>
        {
            c.Timeout = TimeSpan.FromSeconds(60); // each call has its own, shorter deadline (PeerClient)
            // With the direct adapter, peers call each other with the token their own sidecar would add.
            if (!string.IsNullOrEmpty(token) && !node.UsesDapr)
            {
                c.DefaultRequestHeaders.Add(AppApiToken.Header, token);
            }
        });
        peers.RemoveAllLoggers(); // no per-request log scopes on the replication and read paths; callers log failures
        peers.AddHttpMessageHandler(sp => new PeerHeadersHandler(sp.GetRequiredService<ClusterNode>()));
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
        app.UseInternalHeaders(app.Services.GetRequiredService<ClusterNode>());
        if (node.UsesDapr)
        {
            app.UseCloudEvents();
        }

        app.MapHealthApi();
        app.MapNodeApi();
        app.MapConsensusApi();
        app.MapRangeApi();
        if (node.UsesDapr)
        {
            app.MapDaprApi(node);
        }

        return app;
    }
}
