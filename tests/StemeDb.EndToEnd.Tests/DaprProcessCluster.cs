using System.Collections.Concurrent;
using System.Globalization;
using StemeDb.Dapr.Testing;
using StemeDb.Testing;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// Three node processes and a gateway process, as <c>dapr run -f .</c> starts them: each app with its own
/// (stand-in) sidecar, the CLI's environment, <c>Node__Transport=Dapr</c>, and a broker shared by the
/// sidecars in place of Redis. Subscriptions are read once the app answers, as daprd does. The sidecars
/// apply the shipped <c>components/resiliency.yaml</c> and <c>components/pubsub.yaml</c> (scopes, a
/// consumer group per sidecar start from <c>{uuid}</c>, ten parallel workers, the bounded stream).
/// </summary>
public sealed class DaprProcessCluster : IAsyncDisposable
{
    public const int Nodes = 3;
    private static readonly string Key = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b * 7)).ToArray());
    private readonly ConcurrentDictionary<string, StandInSidecar> _registry = new();
    private readonly List<StandInSidecar> _sidecars = [];
    private readonly List<AppProcess> _processes = [];
    private readonly string _data = Path.Combine(Path.GetTempPath(), "stemedb-e2e-" + Guid.NewGuid().ToString("N"));

    private DaprProcessCluster(StandInBroker broker) => Broker = broker;

    public StandInBroker Broker { get; }

    public List<Uri> NodeUrls { get; } = [];

    public Uri GatewayUrl { get; private set; } = null!;

    public AppProcess NodeProcess(int i) => _processes[i];

    /// <summary>The sidecars: nodes first, the gateway last.</summary>
    public IReadOnlyList<StandInSidecar> Sidecars => _sidecars;

    /// <summary>What the gateway logs when it routes around a node after a failed request (RoutingTable.Demote).</summary>
    public const string Demotion = ": a request to it failed";

    public string Output => string.Join('\n', _processes.Select(p => p.Output));

    /// <summary>The gateway process (the last one started).</summary>
    public AppProcess GatewayProcess => _processes[^1];


    public static async Task<DaprProcessCluster> StartAsync(StandInBroker broker, long splitThresholdBytes)
    {
        var cluster = new DaprProcessCluster(broker);
        try
        {
            int[] swim = [.. Enumerable.Range(0, Nodes).Select(_ => FreePorts.Udp())];
            for (int i = 0; i < Nodes; i++)
            {
                string id = $"stemedb-node-{i + 1}";
                var url = new Uri($"http://127.0.0.1:{FreePorts.Tcp()}");
                cluster.NodeUrls.Add(url);
                Dictionary<string, string?> env = await cluster.SidecarFor(id, url);
                env["ASPNETCORE_URLS"] = url.ToString();
                env["Logging__LogLevel__Default"] = "Warning";
                env["Cluster__NodeId"] = id;
                // One genesis range, so that the writes grow it past the threshold and the split goes out over the broker.
                env["Cluster__Sharding__InitialRanges"] = "1";
                env["Cluster__Sharding__SplitThresholdBytes"] = splitThresholdBytes.ToString(CultureInfo.InvariantCulture);
                env["Cluster__Sharding__MergeThresholdBytes"] = "0";
                env["Cluster__Sharding__StrandedRangeBytes"] = "0";
                env["Cluster__Swim__BindAddress"] = "127.0.0.1";
                env["Cluster__Swim__BindPort"] = swim[i].ToString(CultureInfo.InvariantCulture);
                env["Cluster__Swim__ProbeInterval"] = "00:00:00.300";
                env["Cluster__Swim__ProbeTimeout"] = "00:00:00.150";
                env["Cluster__Swim__GossipInterval"] = "00:00:00.060";
                env["Cluster__Swim__PushPullInterval"] = "00:00:03";
                env["Cluster__Swim__SuspicionMult"] = "2";
                env["Cluster__Swim__Keys__0"] = Key;
                if (i > 0)
                {
                    env["Cluster__Swim__Seeds__0"] = $"127.0.0.1:{swim[0]}";
                }

                env["Node__Transport"] = "Dapr";
                env["Node__HttpAddress"] = url.ToString().TrimEnd('/');
                env["Node__RangeCheckInterval"] = "00:00:01";
                env["Node__AntiEntropyInterval"] = "00:00:05";
                env["Node__MetaRangePullInterval"] = "00:00:02";
                env["Storage__DataDirectory"] = Path.Combine(cluster._data, id);
                env["Storage__SyncWrites"] = "false"; // a process kill keeps the OS page cache; only power loss needs fsync
                for (int g = 0; g < Nodes; g++)
                {
                    env[$"Node__Genesis__{g}"] = $"stemedb-node-{g + 1}";
                }

                cluster._processes.Add(AppProcess.Start(id, BuiltApps.Node, env));
            }

            for (int i = 0; i < Nodes; i++)
            {
                await cluster._processes[i].WaitHealthyAsync(new Uri(cluster.NodeUrls[i], "/readyz"), TimeSpan.FromSeconds(60));
                await cluster._sidecars[i].LoadSubscriptionsAsync();
            }

            cluster.GatewayUrl = new Uri($"http://127.0.0.1:{FreePorts.Tcp()}");
            await cluster.StartGatewayAsync(TimeSpan.FromSeconds(2), subscribeWhenReady: false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Kills the gateway process and starts it again with a new sidecar: a new consumer group (the
    /// component's <c>{uuid}</c>), so the broker replays every retained message, ten at a time, out of order.
    /// The replay starts after the gateway's first pull of the member list, and the next pull is
    /// <paramref name="refreshInterval"/> away, so the view the test then reads is what the events made of it.
    /// </summary>
    public async Task RestartGatewayAsync(TimeSpan refreshInterval)
    {
        AppProcess old = _processes[^1];
        old.Kill();
        await old.DisposeAsync();
        _processes.RemoveAt(_processes.Count - 1);
        StandInSidecar sidecar = _sidecars[^1];
        _sidecars.RemoveAt(_sidecars.Count - 1);
        await sidecar.DisposeAsync();
        await StartGatewayAsync(refreshInterval, subscribeWhenReady: true);
    }

    private async Task StartGatewayAsync(TimeSpan refreshInterval, bool subscribeWhenReady)
    {
        Dictionary<string, string?> gateway = await SidecarFor("stemedb-gateway", GatewayUrl);
        gateway["ASPNETCORE_URLS"] = GatewayUrl.ToString();
        gateway["Logging__LogLevel__Default"] = "Warning";
        gateway["Gateway__Transport"] = "Dapr";
        gateway["Gateway__RefreshInterval"] = refreshInterval.ToString("c", CultureInfo.InvariantCulture);
        for (int g = 0; g < Nodes; g++)
        {
            gateway[$"Gateway__Seeds__{g}"] = $"stemedb-node-{g + 1}";
        }

        AppProcess process = AppProcess.Start("stemedb-gateway", BuiltApps.Gateway, gateway);
        process.Count(Demotion);
        _processes.Add(process);
        await process.WaitHealthyAsync(new Uri(GatewayUrl, subscribeWhenReady ? "/readyz" : "/healthz"), TimeSpan.FromSeconds(60));
        await _sidecars[^1].LoadSubscriptionsAsync();
        await process.WaitHealthyAsync(new Uri(GatewayUrl, "/readyz"), TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (AppProcess process in _processes)
        {
            await process.DisposeAsync();
        }

        foreach (StandInSidecar sidecar in _sidecars)
        {
            await sidecar.DisposeAsync();
        }

        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// A sidecar with API token authentication both ways, as a production setup has it: the app must send
    /// DAPR_API_TOKEN, and a node accepts only calls carrying its APP_API_TOKEN (the gateway's public API
    /// is reached by clients directly, so it has none).
    /// </summary>
    private async Task<Dictionary<string, string?>> SidecarFor(string appId, Uri appUrl)
    {
        var sidecar = new StandInSidecar(appId, appUrl, Broker, _registry)
        {
            DaprApiToken = $"dapr-token-{appId}",
            AppApiToken = appId == "stemedb-gateway" ? null : $"app-token-{appId}",
            Resiliency = ResiliencyPolicies.Load("components/resiliency.yaml"),
            Components = PubSubComponent.LoadAll("components/pubsub.yaml"),
        };
        await sidecar.StartAsync();
        _sidecars.Add(sidecar);
        return sidecar.AppEnvironment;
    }
}
