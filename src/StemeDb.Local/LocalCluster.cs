using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using StemeDb.Gateway;
using StemeDb.Node;

namespace StemeDb.Local;

/// <summary>
/// Node apps and a gateway in one process, wired with the direct adapter: real UDP for SWIM, real Kestrel
/// on loopback, RocksDB under the data directory. A second process started with a seed adds its nodes to
/// the cluster of the first.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    // The founding members of a cluster started without a seed; joining processes share the list.
    private static readonly string[] Genesis = ["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"];
    private readonly List<WebApplication> _apps = [];

    private LocalCluster(LocalOptions options) => Options = options;

    public LocalOptions Options { get; }

    public List<(string Id, string Swim, Uri Http)> Nodes { get; } = [];

    public Uri? GatewayUrl { get; private set; }

    public static async Task<LocalCluster> StartAsync(LocalOptions options, CancellationToken cancellationToken = default)
    {
        var cluster = new LocalCluster(options);
        try
        {
            string key = Environment.GetEnvironmentVariable("Cluster__Swim__Keys__0") ?? DevelopmentKey();
            for (int k = 1; k <= options.Nodes; k++)
            {
                int swimPort = options.SwimBasePort + k - 1;
                int httpPort = options.HttpBasePort == 0 ? FreeTcpPort() : options.HttpBasePort + k - 1;
                string id = options.Seed is null ? $"stemedb-node-{k}" : $"stemedb-node-{swimPort}";
                var http = new Uri($"http://127.0.0.1:{httpPort}");
                string? seed = options.Seed ?? (k > 1 ? $"127.0.0.1:{options.SwimBasePort}" : null);
                var settings = new NodeSettings
                {
                    NodeId = id,
                    Urls = http,
                    LogLevels = new Dictionary<string, LogLevel> { ["Default"] = LogLevel.Warning, ["StemeDb"] = LogLevel.Information },
                    SwimBindAddress = "127.0.0.1",
                    SwimBindPort = swimPort,
                    SwimKeys = [key],
                    SwimSeeds = seed is null ? [] : [seed],
                    // A joining process names the whole founding list; a first process only the founders it starts.
                    Genesis = [.. Genesis.Take(options.Seed is not null ? Genesis.Length : options.Nodes)],
                    DataDirectory = Path.Combine(options.DataDirectory, id),
                };
                WebApplication app = NodeApp.Build([], c => c.AddInMemoryCollection(settings.ToConfiguration()));
                await app.StartAsync(cancellationToken);
                cluster._apps.Add(app);
                cluster.Nodes.Add((id, $"127.0.0.1:{swimPort}", http));
            }

            if (options.Gateway)
            {
                int port = options.GatewayPort == 0 ? FreeTcpPort() : options.GatewayPort;
                var url = new Uri($"http://127.0.0.1:{port}");
                var settings = new Dictionary<string, string?>
                {
                    ["urls"] = url.ToString(),
                    ["Logging:LogLevel:Default"] = "Warning",
                };
                for (int i = 0; i < cluster.Nodes.Count; i++)
                {
                    settings[$"Gateway:Seeds:{i}"] = cluster.Nodes[i].Http.ToString().TrimEnd('/');
                }

                WebApplication gateway = GatewayApp.Build([], c => c.AddInMemoryCollection(settings));
                await gateway.StartAsync(cancellationToken);
                cluster._apps.Add(gateway);
                cluster.GatewayUrl = url;
            }

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
        // Gateway first, then the nodes, each leaving the cluster gracefully.
        for (int i = _apps.Count - 1; i >= 0; i--)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _apps[i].StopAsync(timeout.Token);
            await _apps[i].DisposeAsync();
        }

        _apps.Clear();
    }

    /// <summary>A fixed key so that two local processes can talk; for a laptop only (a warning says so).</summary>
    private static string DevelopmentKey() =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("stemedb-local-development-key")));

    private static int FreeTcpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
