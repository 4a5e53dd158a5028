using System.Net;
using System.Net.Sockets;
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
            string key = Environment.GetEnvironmentVariable("Cluster__Swim__Keys__0") ?? StemeDb.Hosting.ShippedKeys.LocalDevelopmentKey; // refused by any node off loopback
            // A joining process takes free ports unless told otherwise: the first process holds the defaults.
            bool seeded = options.Seed is not null;
            int? swimBase = options.SwimBasePort ?? (seeded ? null : LocalOptions.DefaultSwimBasePort);
            int httpBase = options.HttpBasePort ?? (seeded ? 0 : LocalOptions.DefaultHttpBasePort);
            for (int k = 1; k <= options.Nodes; k++)
            {
                int swimPort = swimBase is { } b ? b + k - 1 : FreeUdpPort();
                int httpPort = httpBase == 0 ? FreeTcpPort() : httpBase + k - 1;
                string id = seeded ? $"stemedb-node-{swimPort}" : $"stemedb-node-{k}";
                var http = new Uri($"http://127.0.0.1:{httpPort}");
                string? seed = options.Seed ?? (k > 1 ? $"127.0.0.1:{swimBase}" : null);
                var settings = new NodeSettings
                {
                    NodeId = id,
                    Urls = http,
                    LogLevels = new Dictionary<string, LogLevel>
                    {
                        ["Default"] = LogLevel.Warning,
                        ["StemeDb"] = LogLevel.Information,
                        // A failed start is reported once, in one line, by Program; not also as the host's stack trace.
                        ["Microsoft.Extensions.Hosting"] = LogLevel.None,
                    },
                    SwimBindAddress = "127.0.0.1",
                    SwimBindPort = swimPort,
                    SwimKeys = [key],
                    SwimSeeds = seed is null ? [] : [seed],
                    // A joining process names the whole founding list; a first process only the founders it starts.
                    Genesis = [.. Genesis.Take(options.Seed is not null ? Genesis.Length : options.Nodes)],
                    DataDirectory = Path.Combine(options.DataDirectory, id),
                };
                WebApplication app = NodeApp.Build([], c => c.AddInMemoryCollection(settings.ToConfiguration()));
                cluster._apps.Add(app); // stopped with the others if its start fails half-way
                await StartAsync(app, cancellationToken, $"node {id}", $"SWIM port 127.0.0.1:{swimPort} (UDP)", swimBase is null ? null : "--swim-base-port", $"HTTP port {httpPort}", "--http-base-port");
                cluster.Nodes.Add((id, $"127.0.0.1:{swimPort}", http));
            }

            if (options.Gateway)
            {
                int chosen = options.GatewayPort ?? (seeded ? 0 : LocalOptions.DefaultGatewayPort);
                int port = chosen == 0 ? FreeTcpPort() : chosen;
                var url = new Uri($"http://127.0.0.1:{port}");
                var settings = new Dictionary<string, string?>
                {
                    ["urls"] = url.ToString(),
                    ["Logging:LogLevel:Default"] = "Warning",
                    ["Logging:LogLevel:Microsoft.Extensions.Hosting"] = "None",
                };
                for (int i = 0; i < cluster.Nodes.Count; i++)
                {
                    settings[$"Gateway:Seeds:{i}"] = cluster.Nodes[i].Http.ToString().TrimEnd('/');
                }

                WebApplication gateway = GatewayApp.Build([], c => c.AddInMemoryCollection(settings));
                cluster._apps.Add(gateway);
                await StartAsync(gateway, cancellationToken, "the gateway", null, null, $"HTTP port {port}", "--gateway-port");
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

    /// <summary>Starts one app; a port in use becomes a <see cref="LocalStartException"/> that names the port and the flag that moves it.</summary>
    private static async Task StartAsync(WebApplication app, CancellationToken cancellationToken, string what, string? udp, string? udpFlag, string tcp, string tcpFlag)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && udp is not null)
        {
            throw new LocalStartException($"{what}: {udp} is in use (another StemeDb.Local?). {(udpFlag is null ? "Try again" : $"Give {udpFlag} another port, or --seed HOST:PORT alone to join that cluster with free ports")}.", e);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw new LocalStartException($"{what}: {tcp} is in use (another StemeDb.Local?). Give {tcpFlag} another port (0 takes a free one), or --seed HOST:PORT alone to join that cluster with free ports.", e);
        }
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static int FreeTcpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
