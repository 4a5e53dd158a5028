using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Contracts;
using StemeDb.Hosting;
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

        // Configuration errors name every bad setting of every section and stop the start, before anything is touched.
        var errors = new List<string>();
        ClusterConfig cluster = BindCluster(builder.Configuration, errors);
        NodeOptions node = StrictOptions.Bind<NodeOptions>(builder.Configuration, NodeOptions.SectionName, errors);
        StorageOptions storage = StrictOptions.Bind<StorageOptions>(builder.Configuration, StorageOptions.SectionName, errors);
        node.Validate(errors, seeded: cluster.Swim.Seeds.Count > 0);
        string? token = builder.Configuration[DaprAppToken.Variable];
        // Off loopback nothing shipped may be the secret: a SWIM key of the user's own, an authenticated internal API.
        NetworkExposure exposure = NetworkExposure.Of(
            builder.Configuration,
            ("Cluster:Swim:BindAddress", cluster.Swim.BindAddress),
            ("Cluster:Swim:AdvertiseAddress", cluster.Swim.AdvertiseAddress),
            ("Node:HttpAddress", node.HttpAddress));
        ExposureRules.CheckSwimKeys(exposure, cluster.Swim.Keys, errors);
        ExposureRules.CheckInternalApi(exposure, node.Transport, node.ClusterToken, $"{NodeOptions.SectionName}:ClusterToken", token, cluster.Swim.Keys, errors);
        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        builder.AddServiceDefaults(RequestLimits.MaxNodeBodyBytes);
        builder.AddTelemetry("stemedb-node", cluster.NodeId);
        builder.Services.AddSingleton(cluster);
        builder.Services.AddSingleton(node);
        // The store belongs to this cluster: one made for another (another genesis) is refused at start.
        var clusterId = ClusterId.Of(cluster, node.Founders(cluster.Node));
        builder.Services.AddSingleton(_ => RocksDbAssertionStore.Open(storage, cluster.Sharding.ShardCount, clusterId));
        if (node.Transport == Transport.Dapr)
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
        builder.Services.AddSingleton<ReplicationBatcher>();
        builder.Services.AddSingleton<HedgeDelay>();
        builder.Services.AddSingleton<FenceGate>();
        builder.Services.AddSingleton<StoreHealth>();
        builder.Services.AddSingleton<LoadTracker>();
        builder.Services.AddSingleton<NodeTelemetry>();
        builder.Services.AddSingleton<Coordinator>();
        builder.Services.AddSingleton<ConsensusAcceptor>();
        builder.Services.AddSingleton<DescriptorProposer>();
        builder.Services.AddSingleton<RangeData>();
        builder.Services.AddSingleton<RangeWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RangeWorker>());
        configureServices?.Invoke(builder.Services);
        IHttpClientBuilder peers = builder.Services.AddHttpClient(PeerClient.HttpClientName, c =>
        {
            c.Timeout = TimeSpan.FromSeconds(60); // each call has its own, shorter deadline (PeerClient)
            // With the direct adapter, peers call each other with the token their own sidecar would add.
            if (!string.IsNullOrEmpty(token) && node.Transport == Transport.Direct)
            {
                c.DefaultRequestHeaders.Add(DaprAppToken.Header, token);
            }

            if (!string.IsNullOrEmpty(node.ClusterToken))
            {
                c.DefaultRequestHeaders.Add(InternalHeaderNames.ClusterToken, node.ClusterToken);
            }
        });
        peers.RemoveAllLoggers(); // no per-request log scopes on the replication and read paths; callers log failures
        peers.AddHttpMessageHandler(sp => new PeerHeadersHandler(sp.GetRequiredService<ClusterNode>()));
        // A busy coordinator's replica reads to one peer travel together (BatchApi on the peer).
        peers.AddHttpMessageHandler(sp => new CoalescingHandler([InternalRoutes.ReplicaRead], sp.GetRequiredService<TimeProvider>()));
        if (node.Transport == Transport.Dapr)
        {
            peers.AddSidecarInvocation(builder.Configuration);
        }

        WebApplication app = builder.Build();
        // Open the store now: a foreign or torn data directory must stop the start, not the first request.
        app.Services.GetRequiredService<RocksDbAssertionStore>();
        app.UseServiceDefaults();
        app.UseHeaderToken(
            DaprAppToken.Header,
            string.IsNullOrEmpty(token) ? [] : [token],
            request => !Telemetry.IsOpen(request),
            "Missing or wrong app API token",
            $"Every request to this node needs the {DaprAppToken.Header} header that its sidecar adds.");
        // Checked before any handler reads a body: an unauthenticated caller never reaches a store or the meta-range.
        app.UseHeaderToken(
            InternalHeaderNames.ClusterToken,
            string.IsNullOrEmpty(node.ClusterToken) ? [] : [node.ClusterToken],
            request => !Telemetry.IsOpen(request),
            "Missing or wrong cluster token",
            $"Every request to this node needs the {InternalHeaderNames.ClusterToken} header with the cluster token (Node:ClusterToken).");
        app.UseInternalHeaders(app.Services.GetRequiredService<ClusterNode>());
        if (node.Transport == Transport.Dapr)
        {
            app.UseCloudEvents();
            app.MapSubscribeHandler();
            app.MapMetaRangeSubscription(node.PubSubName, (services, update) => services.GetRequiredService<MetaRangeSync>().Accept(update, "the meta-range topic"));
        }

        app.MapHealthEndpoints(services =>
            !services.GetRequiredService<ClusterNode>().IsReady ? "The node has not joined its cluster yet."
            : services.GetRequiredService<StoreHealth>().Failure is { } failure ? $"The store refuses writes: {failure}"
            : null);
        app.MapMetrics();
        app.MapNodeApi();
        app.MapBatchApi();
        app.MapMembershipStreamApi();
        app.MapConsensusApi();
        app.MapRangeApi();
        return app;
    }

    private static ClusterConfig BindCluster(IConfiguration configuration, List<string> errors)
    {
        try
        {
            return ClusterConfig.Bind(configuration);
        }
        catch (ClusterConfigException e)
        {
            errors.AddRange(e.Errors);
            return new ClusterConfig();
        }
    }
}
