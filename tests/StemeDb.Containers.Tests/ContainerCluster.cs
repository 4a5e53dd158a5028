using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Five node containers and a gateway container on their own podman network, each with a fixed address
/// (so a node that is disconnected and reconnected keeps it) and each node with its own volume. The
/// product's SWIM defaults, except a 5 s push-pull interval so that a node cut off and reconnected is
/// found again within seconds (the reconnect attempt rides on push-pull). Every acknowledged write of
/// every scenario goes into <see cref="Ledger"/>, which each scenario reads back in full.
/// </summary>
public sealed class ContainerCluster : IAsyncLifetime
{
    public const int NodeCount = 5;
    private static readonly string SwimKey = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b * 5 + 1)).ToArray());
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<IContainer> _nodes = [];
    private readonly List<string> _volumes = [];
    private INetwork? _network;
    private IContainer? _gateway;
    private string _prefix = "";

    // One client for the membership polls (every 50-100 ms during a scenario), not a new one per poll.
    private readonly HttpClient _membership = new() { Timeout = TimeSpan.FromSeconds(2) };

    public DockerClient Docker { get; private set; } = null!;

    public HttpClient Gateway { get; private set; } = null!;

    public ConcurrentDictionary<string, string> Ledger { get; } = new();

    public List<string> Report { get; } = [];

    public string NetworkName => _network!.Name;

    public static string NodeId(int i) => $"stemedb-node-{i + 1}";

    public string NodeAddress(int i) => $"{_prefix}{11 + i}";

    public Uri NodeUrl(int i) => new($"http://{NodeAddress(i)}:5000");

    public IContainer Node(int i) => _nodes[i];

    public IContainer GatewayContainer => _gateway!;

    public string GatewayAddress => $"{_prefix}20";

    public async Task InitializeAsync()
    {
        if (ContainerEngine.Unavailable is not null)
        {
            return; // each test skips (or fails, when containers are required) with the reason
        }

        using var setup = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        string image = await ContainerEngine.BuildImageAsync(setup.Token);
        Docker = ContainerEngine.Client();
        int subnet = Random.Shared.Next(100, 250);
        _prefix = $"10.89.{subnet}.";
        _network = new NetworkBuilder()
            .WithName($"stemedb-ct-{_run}")
            .WithCreateParameterModifier(p => p.IPAM = new IPAM { Config = [new IPAMConfig { Subnet = $"{_prefix}0/24", Gateway = $"{_prefix}1" }] })
            .Build();
        await _network.CreateAsync(setup.Token);

        for (int i = 0; i < NodeCount; i++)
        {
            _nodes.Add(BuildNode(image, i));
        }

        await Task.WhenAll(_nodes.Select(n => n.StartAsync(setup.Token)));
        for (int i = 0; i < NodeCount; i++)
        {
            await WaitHttpAsync(new Uri(NodeUrl(i), "/readyz"), TimeSpan.FromSeconds(60), _nodes[i]);
        }

        _gateway = BuildGateway(image);
        await _gateway.StartAsync(setup.Token);
        Gateway = new HttpClient { BaseAddress = new Uri($"http://{GatewayAddress}:8080"), Timeout = TimeSpan.FromSeconds(10) };
        await WaitHttpAsync(new Uri(Gateway.BaseAddress, "/readyz"), TimeSpan.FromSeconds(60), _gateway);
        await PreloadAsync(setup.Token);
    }

    public async Task DisposeAsync()
    {
        Gateway?.Dispose();
        _membership.Dispose();
        foreach (IContainer container in _nodes.Append(_gateway).OfType<IContainer>())
        {
            await container.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DisposeAsync();
        }

        foreach (string volume in _volumes)
        {
            try
            {
                await Docker.Volumes.RemoveAsync(volume, force: true);
            }
            catch (DockerApiException)
            {
            }
        }

        if (Report.Count > 0)
        {
            await File.WriteAllLinesAsync(Path.Combine(AppContext.BaseDirectory, "reliability.md"), [ScenarioRow.Header, ScenarioRow.Rule, .. Report]);
        }

        Docker?.Dispose();
    }

    /// <summary>The SWIM state of <paramref name="target"/> as each other live node sees it, or null where a node does not answer.</summary>
    public async Task<string?[]> StatesOfAsync(int target, IEnumerable<int> observers)
    {
        return await Task.WhenAll(observers.Where(o => o != target).Select(async o =>
        {
            try
            {
                List<JsonElement> members = (await _membership.GetFromJsonAsync<List<JsonElement>>(new Uri(NodeUrl(o), "/internal/v1/members")))!;
                return members.FirstOrDefault(m => m.GetProperty("id").GetString() == NodeId(target)) is { ValueKind: JsonValueKind.Object } m ? m.GetProperty("state").GetString() : "unknown";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return null;
            }
        }));
    }

    public async Task KillAsync(IContainer container) =>
        await Docker.Containers.KillContainerAsync(container.Id, new ContainerKillParameters { Signal = "KILL" });

    /// <summary>SIGTERM, up to 15 s to leave the cluster and close the store, then SIGKILL.</summary>
    public async Task StopGracefullyAsync(IContainer container) =>
        await Docker.Containers.StopContainerAsync(container.Id, new ContainerStopParameters { WaitBeforeKillSeconds = 15 });

    /// <summary>Starts a stopped or killed container again: same file system, same volume, same address.</summary>
    public async Task StartAgainAsync(IContainer container) =>
        await Docker.Containers.StartContainerAsync(container.Id, new ContainerStartParameters());

    public async Task DisconnectAsync(int node) =>
        await Docker.Networks.DisconnectNetworkAsync(_network!.Name, new NetworkDisconnectParameters { Container = _nodes[node].Id, Force = true });

    public async Task ReconnectAsync(int node) =>
        await Docker.Networks.ConnectNetworkAsync(_network!.Name, new NetworkConnectParameters
        {
            Container = _nodes[node].Id,
            EndpointConfig = new EndpointSettings { IPAMConfig = new EndpointIPAMConfig { IPv4Address = NodeAddress(node) } },
        });

    public async Task<string> LogsAsync(IContainer container)
    {
        (string stdout, string stderr) = await container.GetLogsAsync();
        string[] lines = (stdout + stderr).Split('\n');
        return $"--- {container.Name} (last 80 lines) ---\n" + string.Join('\n', lines.TakeLast(80));
    }

    public static async Task WaitHttpAsync(Uri url, TimeSpan timeout, IContainer? container = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && container?.State is not TestcontainersStates.Exited)
        {
            try
            {
                using HttpResponseMessage response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(250);
        }

        string logs = "";
        if (container is not null)
        {
            (string stdout, string stderr) = await container.GetLogsAsync();
            logs = string.Join('\n', (stdout + stderr).Split('\n').TakeLast(60));
        }

        throw new TimeoutException($"{url} did not answer within {timeout} (container {container?.State}).\n{logs}");
    }

    private IContainer BuildNode(string image, int i)
    {
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = "http://0.0.0.0:5000",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__StemeDb"] = "Information",
            ["Cluster__NodeId"] = NodeId(i),
            ["Cluster__Swim__BindAddress"] = "0.0.0.0",
            ["Cluster__Swim__AdvertiseAddress"] = NodeAddress(i),
            ["Cluster__Swim__PushPullInterval"] = "00:00:05",
            ["Cluster__Swim__Keys__0"] = SwimKey,
            // 1 MiB ranges: the preload makes several, so every node replicates some.
            ["Cluster__Sharding__SplitThresholdBytes"] = "1048576",
            ["Cluster__Sharding__MergeThresholdBytes"] = "0",
            ["Cluster__Sharding__StrandedRangeBytes"] = "0",
            ["Node__HttpAddress"] = NodeUrl(i).ToString().TrimEnd('/'),
            ["Node__RangeCheckInterval"] = "00:00:02",
            ["Node__AntiEntropyInterval"] = "00:00:10",
            ["Storage__DataDirectory"] = "/data",
        };
        for (int g = 0; g < NodeCount; g++)
        {
            env[$"Node__Genesis__{g}"] = NodeId(g);
        }

        // Every other node is a seed, so a restarted node rejoins whichever is up.
        int seed = 0;
        for (int s = 0; s < NodeCount; s++)
        {
            if (s != i)
            {
                env[$"Cluster__Swim__Seeds__{seed++}"] = $"{NodeAddress(s)}:7946";
            }
        }

        string volume = $"stemedb-ct-{_run}-data-{i + 1}";
        _volumes.Add(volume);
        return WithAddress(new ContainerBuilder(image), NodeAddress(i))
            .WithName($"stemedb-ct-{_run}-node-{i + 1}")
            .WithEntrypoint("/usr/share/dotnet/dotnet")
            .WithCommand("/app/node/StemeDb.Node.dll")
            .WithEnvironment(env)
            .WithVolumeMount(volume, "/data")
            .Build();
    }

    private IContainer BuildGateway(string image)
    {
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = "http://0.0.0.0:8080",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__StemeDb"] = "Information",
            ["Gateway__RefreshInterval"] = "00:00:01",
            ["Gateway__RequestTimeout"] = "00:00:02",
        };
        for (int s = 0; s < NodeCount; s++)
        {
            env[$"Gateway__Seeds__{s}"] = NodeUrl(s).ToString().TrimEnd('/');
        }

        return WithAddress(new ContainerBuilder(image), GatewayAddress)
            .WithName($"stemedb-ct-{_run}-gateway")
            .WithEntrypoint("/usr/share/dotnet/dotnet")
            .WithCommand("/app/gateway/StemeDb.Gateway.dll")
            .WithEnvironment(env)
            .Build();
    }

    /// <summary>On the test network at a fixed address (Docker API: NetworkingConfig.EndpointsConfig[network].IPAMConfig).</summary>
    private ContainerBuilder WithAddress(ContainerBuilder builder, string address) =>
        builder.WithNetwork(_network!).WithCreateParameterModifier(p =>
        {
            p.NetworkingConfig ??= new NetworkingConfig();
            p.NetworkingConfig.EndpointsConfig ??= new Dictionary<string, EndpointSettings>();
            if (!p.NetworkingConfig.EndpointsConfig.TryGetValue(_network!.Name, out EndpointSettings? endpoint))
            {
                endpoint = new EndpointSettings();
                p.NetworkingConfig.EndpointsConfig[_network.Name] = endpoint;
            }

            endpoint.IPAMConfig = new EndpointIPAMConfig { IPv4Address = address };
        });

    /// <summary>About 4 MB in batches: the genesis range splits into several and rebalancing spreads them over all five nodes.</summary>
    private async Task PreloadAsync(CancellationToken cancellationToken)
    {
        string pad = new('p', 900);
        for (int batch = 0; batch < 40; batch++)
        {
            var assertions = Enumerable.Range(0, 100).Select(k => new { subject = $"pre:{batch}:{k}", predicate = "p", @object = new { pad } }).ToList();
            using HttpResponseMessage response = await Gateway.PostAsJsonAsync("/v1/assertions", new { assertions }, cancellationToken);
            response.EnsureSuccessStatusCode();
            JsonElement ids = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("ids");
            for (int k = 0; k < assertions.Count; k++)
            {
                Ledger[assertions[k].subject] = ids[k].GetString()!;
            }
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            List<JsonElement> ranges = (await Gateway.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges", cancellationToken))!;
            var holders = ranges.SelectMany(r => r.GetProperty("replicas").EnumerateArray().Select(x => x.GetString())).ToHashSet();
            if (Enumerable.Range(0, NodeCount).All(i => holders.Contains(NodeId(i))))
            {
                return;
            }

            await Task.Delay(500, cancellationToken);
        }

        throw new TimeoutException("the preloaded ranges never spread over all five nodes");
    }

    /// <summary>Reads every acknowledged write back through the gateway; returns the subjects not found.</summary>
    public async Task<List<string>> MissingAsync()
    {
        var missing = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Ledger, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (entry, ct) =>
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                try
                {
                    using HttpResponseMessage response = await Gateway.GetAsync($"/v1/subjects/{Uri.EscapeDataString(entry.Key)}/assertions", ct);
                    if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<List<JsonElement>>(ct))!.Any(a => a.GetProperty("id").GetString() == entry.Value))
                    {
                        return;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                await Task.Delay(500, ct);
            }

            missing.Add(entry.Key);
        });
        return [.. missing];
    }
}

[CollectionDefinition(nameof(ContainerCluster))]
public sealed class ContainerClusterCollection : ICollectionFixture<ContainerCluster>;
