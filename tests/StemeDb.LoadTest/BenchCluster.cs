using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Contracts;
using StemeDb.Dapr.Testing;
using StemeDb.Gateway;
using StemeDb.Hosting;
using StemeDb.Node;
using StemeDb.Testing;

namespace StemeDb.LoadTest;

/// <summary>
/// Node apps and a gateway in this process on loopback, with the direct adapter or, for the Dapr path,
/// each app behind its own stand-in sidecar (HTTP invocation and gRPC publish through real sockets).
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];
    private readonly List<StandInSidecar> _sidecars = [];
    private readonly string _data = Path.Combine(Path.GetTempPath(), "stemedb-load-" + Guid.NewGuid().ToString("N"));

    public List<Uri> NodeUrls { get; } = [];

    public Uri GatewayUrl { get; private set; } = null!;

    public ClusterNode Node(int i) => _apps[i].Services.GetRequiredService<ClusterNode>();

    public IServiceProvider Services(int i) => _apps[i].Services;

    /// <param name="founders">How many of the nodes found the cluster (the genesis table's members); three when not given.</param>
    public static async Task<BenchCluster> StartAsync(int nodes, bool dapr, IReadOnlyDictionary<string, string?>? extra = null, int founders = 3)
    {
        var cluster = new BenchCluster();
        var broker = new StandInBroker(seed: 1);
        var registry = new ConcurrentDictionary<string, StandInSidecar>();
        string key = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b + 3)).ToArray());
        int[] swim = [.. Enumerable.Range(0, nodes).Select(_ => FreePorts.Udp())];
        try
        {
            for (int i = 0; i < nodes; i++)
            {
                string id = $"stemedb-node-{i + 1}";
                var url = new Uri($"http://127.0.0.1:{FreePorts.Tcp()}");
                Dictionary<string, string?> settings = new NodeSettings
                {
                    NodeId = id,
                    Urls = url,
                    LogLevels = new Dictionary<string, LogLevel> { ["Default"] = LogLevel.Warning },
                    SwimBindAddress = "127.0.0.1",
                    SwimBindPort = swim[i],
                    SwimKeys = [key],
                    SwimSeeds = i > 0 ? [$"127.0.0.1:{swim[0]}"] : [],
                    Genesis = [.. Enumerable.Range(1, Math.Min(nodes, founders)).Select(g => $"stemedb-node-{g}")],
                    Transport = dapr ? Transport.Dapr : Transport.Direct,
                    DataDirectory = Path.Combine(cluster._data, id),
                }.ToConfiguration();
                await cluster.AddSidecarAsync(dapr, id, url, broker, registry, settings);
                foreach ((string k, string? v) in extra ?? new Dictionary<string, string?>())
                {
                    settings[k] = v;
                }

                WebApplication app = NodeApp.Build([], c => c.AddInMemoryCollection(settings));
                await app.StartAsync();
                cluster._apps.Add(app);
                cluster.NodeUrls.Add(url);
            }

            cluster.GatewayUrl = new Uri($"http://127.0.0.1:{FreePorts.Tcp()}");
            var gateway = new Dictionary<string, string?>
            {
                ["urls"] = cluster.GatewayUrl.ToString(),
                ["Logging:LogLevel:Default"] = "Warning",
                ["Gateway:Transport"] = dapr ? "Dapr" : "Direct",
                ["Gateway:RefreshInterval"] = "00:00:01",
            };
            for (int i = 0; i < nodes; i++)
            {
                gateway[$"Gateway:Seeds:{i}"] = dapr ? $"stemedb-node-{i + 1}" : cluster.NodeUrls[i].ToString().TrimEnd('/');
            }

            await cluster.AddSidecarAsync(dapr, "stemedb-gateway", cluster.GatewayUrl, broker, registry, gateway);
            WebApplication gatewayApp = GatewayApp.Build([], c => c.AddInMemoryCollection(gateway));
            await gatewayApp.StartAsync();
            cluster._apps.Add(gatewayApp);
            foreach (StandInSidecar sidecar in cluster._sidecars)
            {
                await sidecar.LoadSubscriptionsAsync();
            }

            using var http = new HttpClient();
            await Poll.UntilAsync(
                async () => (await http.GetAsync(new Uri(cluster.GatewayUrl, "/readyz"))).IsSuccessStatusCode && await AllJoinedAsync(http, cluster.NodeUrls[0], nodes),
                TimeSpan.FromSeconds(30),
                "the benchmark cluster is ready (the gateway ready, every node joined)",
                step: TimeSpan.FromMilliseconds(100),
                retryOn: e => e is HttpRequestException);

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _apps.Count - 1; i >= 0; i--)
        {
            await _apps[i].StopAsync();
            await _apps[i].DisposeAsync();
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

    private static async Task<bool> AllJoinedAsync(HttpClient http, Uri node, int nodes)
    {
        List<StemeDb.Contracts.Wire.MemberDto> members = (await http.GetFromJsonAsync<List<StemeDb.Contracts.Wire.MemberDto>>(new Uri(node, InternalRoutes.Members)))!;
        return members.Count(m => m.State == "alive") == nodes;
    }

    private async Task AddSidecarAsync(bool dapr, string appId, Uri appUrl, StandInBroker broker, ConcurrentDictionary<string, StandInSidecar> registry, Dictionary<string, string?> settings)
    {
        if (!dapr)
        {
            return;
        }

        var sidecar = new StandInSidecar(appId, appUrl, broker, registry);
        await sidecar.StartAsync();
        _sidecars.Add(sidecar);
        foreach ((string k, string? v) in sidecar.AppEnvironment)
        {
            settings[k] = v;
        }
    }
}
