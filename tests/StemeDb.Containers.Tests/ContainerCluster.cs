using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using StemeDb.Contracts;
using StemeDb.Testing;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Five node containers and two gateway containers (A and B) on their own podman network, each with a
/// fixed address (so a node that is disconnected and reconnected keeps it, and a network fault can name
/// it) and each node with its own volume. The product's SWIM defaults, except a 5 s push-pull interval so
/// that a node cut off and reconnected is found again within seconds (the reconnect attempt rides on
/// push-pull), and a 10 s drop grace so that a scenario can wait past it. Every acknowledged write of
/// every scenario goes into <see cref="Ledger"/>, which each scenario reads back in full.
/// </summary>
public sealed class ContainerCluster : IAsyncLifetime
{
    public const int NodeCount = 5;
    public const int GatewayCount = 2;

    /// <summary>The product's shard count (the fixture does not change it): what a subject hashes into.</summary>
    public const int ShardCount = 4096;

    /// <summary>How long a node keeps the data of a range it no longer replicates (Node__DropGrace).</summary>
    public static readonly TimeSpan DropGrace = TimeSpan.FromSeconds(10);

    /// <summary>The maximum clock offset between nodes (the product's Cluster:Sharding:MaxClockOffset, unchanged here).</summary>
    public static readonly TimeSpan MaxClockOffset = TimeSpan.FromMilliseconds(500);

    /// <summary>Debian's libfaketime, which build-image.sh copies into the image.</summary>
    public const string FakeTimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

    /// <summary>
    /// The node that runs under libfaketime (at offset 0 until a scenario steps it), so that a scenario can
    /// step a running node's clock without a restart, which would cost it its leaderships (measured: a node
    /// recreated with a skewed clock led no range 60 s after it rejoined). Only one: under libfaketime (which
    /// also wraps condition-variable waits, epoll and stat) a node's batch writes were 2 to 6 times slower
    /// on this machine, so the other nodes run without it.
    /// </summary>
    public const int SkewableNode = NodeCount - 1;

    /// <summary>The clock offset libfaketime applies in <see cref="SkewableNode"/>, "+0s" until a scenario changes it.</summary>
    private const string FakeTimeFile = "/tmp/faketime";

    private static readonly string SwimKey = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b * 5 + 1)).ToArray());
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<IContainer> _nodes = [];
    private readonly List<string> _volumes = [];
    private readonly List<IContainer> _gateways = [];
    private readonly List<GatewayClient> _gatewayClients = [];
    private INetwork? _network;
    private string _prefix = "";
    private string _image = "";

    // One client for the membership polls (every 50-100 ms during a scenario), not a new one per poll.
    // Off loopback the nodes refuse calls without the cluster token, the test's own too.
    private static readonly string ClusterToken = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b * 11 + 7)).ToArray());

    private readonly HttpClient _membership = new() { Timeout = TimeSpan.FromSeconds(2), DefaultRequestHeaders = { { InternalHeaderNames.ClusterToken, ClusterToken } } };

    public DockerClient Docker { get; private set; } = null!;

    public NetworkFaults Faults { get; private set; } = null!;

    /// <summary>Gateway A and gateway B, in that order.</summary>
    public IReadOnlyList<GatewayClient> Gateways => _gatewayClients;

    public Ledger Ledger { get; } = new();

    public List<string> Report { get; } = [];

    public string NetworkName => _network!.Name;

    public static string NodeId(int i) => $"stemedb-node-{i + 1}";

    public static int NodeIndex(string id) => int.Parse(id.AsSpan("stemedb-node-".Length), CultureInfo.InvariantCulture) - 1;

    public string NodeAddress(int i) => $"{_prefix}{11 + i}";

    public Uri NodeUrl(int i) => new($"http://{NodeAddress(i)}:5000");

    public IContainer Node(int i) => _nodes[i];

    public static string GatewayName(int g) => ((char)('A' + g)).ToString();

    public IContainer GatewayContainer(int g) => _gateways[g];

    public string GatewayAddress(int g) => $"{_prefix}{20 + g}";

    public Uri GatewayUrl(int g) => new($"http://{GatewayAddress(g)}:8080");

    public FaultEndpoint NodeEndpoint(int i) => new(NodeId(i), _nodes[i].Id, NodeAddress(i));

    public FaultEndpoint GatewayEndpoint(int g) => new($"gateway {GatewayName(g)}", _gateways[g].Id, GatewayAddress(g));

    public async Task InitializeAsync()
    {
        if (ContainerEngine.Unavailable is not null)
        {
            return; // each test skips (or fails, when containers are required) with the reason
        }

        using var setup = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        _image = await ContainerEngine.BuildImageAsync(setup.Token);
        Docker = ContainerEngine.Client();
        Faults = new NetworkFaults(Docker);
        int subnet = Random.Shared.Next(100, 250);
        _prefix = $"10.89.{subnet}.";
        _network = new NetworkBuilder()
            .WithName($"stemedb-ct-{_run}")
            .WithCreateParameterModifier(p => p.IPAM = new IPAM { Config = [new IPAMConfig { Subnet = $"{_prefix}0/24", Gateway = $"{_prefix}1" }] })
            .Build();
        await _network.CreateAsync(setup.Token);

        for (int i = 0; i < NodeCount; i++)
        {
            _volumes.Add(VolumeOf(i));
            _nodes.Add(BuildNode(i));
        }

        await Task.WhenAll(_nodes.Select(n => n.StartAsync(setup.Token)));
        for (int i = 0; i < NodeCount; i++)
        {
            await WaitHttpAsync(new Uri(NodeUrl(i), "/readyz"), TimeSpan.FromSeconds(60), _nodes[i]);
        }

        for (int g = 0; g < GatewayCount; g++)
        {
            _gateways.Add(BuildGateway(g));
            _gatewayClients.Add(new GatewayClient(GatewayName(g), new HttpClient { BaseAddress = GatewayUrl(g), Timeout = TimeSpan.FromSeconds(10) }));
        }

        await Task.WhenAll(_gateways.Select(g => g.StartAsync(setup.Token)));
        await WaitGatewaysAsync(TimeSpan.FromSeconds(60));
        await PreloadAsync(setup.Token);
    }

    public async Task DisposeAsync()
    {
        foreach (GatewayClient gateway in _gatewayClients)
        {
            gateway.Http.Dispose();
        }

        _membership.Dispose();
        foreach (IContainer container in _nodes.Concat(_gateways))
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
                List<JsonElement> members = (await _membership.GetFromJsonAsync<List<JsonElement>>(new Uri(NodeUrl(o), InternalRoutes.Members)))!;
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

    /// <summary>
    /// Steps <see cref="SkewableNode"/>'s wall clock to <paramref name="offset"/> from the host's while it
    /// runs: libfaketime rereads its offset file every second; this waits two seconds so it has.
    /// </summary>
    public async Task SetClockOffsetAsync(TimeSpan offset)
    {
        await _nodes[SkewableNode].CopyAsync(Encoding.ASCII.GetBytes(FakeTimeSpec(offset)), FakeTimeFile);
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    /// <summary>libfaketime's relative form: "+0.2s", "-5s".</summary>
    public static string FakeTimeSpec(TimeSpan offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{(offset < TimeSpan.Zero ? "-" : "+")}{Math.Abs(offset.TotalSeconds):0.###}s");

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

    /// <summary>The log lines of node <paramref name="i"/> since <paramref name="since"/> (host clock) that contain <paramref name="text"/>.</summary>
    public async Task<List<string>> NodeLogLinesAsync(int i, DateTime since, string text)
    {
        (string stdout, string stderr) = await _nodes[i].GetLogsAsync(since);
        // The console logger writes a message on the line after its category line.
        return [.. (stdout + stderr).Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal)).Select(l => l.Trim())];
    }

    public static async Task WaitHttpAsync(Uri url, TimeSpan timeout, IContainer? container = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Poll.UntilAsync(
            async () =>
            {
                // An exited container will not answer: the wait ends at once, with its log.
                if (container?.State is TestcontainersStates.Exited)
                {
                    throw new InvalidOperationException($"{url} will not answer: container {container.Name} exited.\n{await LastLogLinesAsync(container)}");
                }

                using HttpResponseMessage response = await http.GetAsync(url);
                return response.IsSuccessStatusCode;
            },
            timeout,
            $"{url} answers",
            step: TimeSpan.FromMilliseconds(250),
            diagnostics: async () => container is null ? "" : $"container {container.State}\n{await LastLogLinesAsync(container)}",
            retryOn: e => e is HttpRequestException or TaskCanceledException);
    }

    private static async Task<string> LastLogLinesAsync(IContainer container)
    {
        (string stdout, string stderr) = await container.GetLogsAsync();
        return string.Join('\n', (stdout + stderr).Split('\n').TakeLast(60));
    }

    private string VolumeOf(int i) => $"stemedb-ct-{_run}-data-{i + 1}";

    private IContainer BuildNode(int i)
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
            ["Node__ClusterToken"] = ClusterToken,
            // 1 MiB ranges: the preload makes several, so every node replicates some.
            ["Cluster__Sharding__SplitThresholdBytes"] = "1048576",
            ["Cluster__Sharding__MergeThresholdBytes"] = "0",
            ["Cluster__Sharding__StrandedRangeBytes"] = "0",
            ["Node__HttpAddress"] = NodeUrl(i).ToString().TrimEnd('/'),
            ["Node__RangeCheckInterval"] = "00:00:02",
            ["Node__AntiEntropyInterval"] = "00:00:10",
            ["Node__DropGrace"] = DropGrace.ToString("c", CultureInfo.InvariantCulture),
            ["Storage__DataDirectory"] = "/data",
        };
        if (i == SkewableNode)
        {
            // The offset is read from a file (copied in at creation, "+0s"), so it can change while the node
            // runs. Monotonic clocks stay real: timers, timeouts and Stopwatch are not disturbed.
            env["LD_PRELOAD"] = FakeTimeLibrary;
            env["FAKETIME_TIMESTAMP_FILE"] = FakeTimeFile;
            env["FAKETIME_CACHE_DURATION"] = "1";
            env["DONT_FAKE_MONOTONIC"] = "1";
        }

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

        ContainerBuilder node = WithAddress(new ContainerBuilder(_image), NodeAddress(i))
            .WithName($"stemedb-ct-{_run}-node-{i + 1}")
            .WithEntrypoint("/usr/share/dotnet/dotnet")
            .WithCommand("/app/node/StemeDb.Node.dll")
            .WithEnvironment(env)
            .WithVolumeMount(VolumeOf(i), "/data");
        return (i == SkewableNode ? node.WithResourceMapping(Encoding.ASCII.GetBytes(FakeTimeSpec(TimeSpan.Zero)), FakeTimeFile) : node).Build();
    }

    private IContainer BuildGateway(int g)
    {
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = "http://0.0.0.0:8080",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__StemeDb"] = "Information",
            ["Gateway__RefreshInterval"] = "00:00:01",
            ["Gateway__RequestTimeout"] = "00:00:02",
            ["Gateway__ClusterToken"] = ClusterToken,
        };
        for (int s = 0; s < NodeCount; s++)
        {
            env[$"Gateway__Seeds__{s}"] = NodeUrl(s).ToString().TrimEnd('/');
        }

        return WithAddress(new ContainerBuilder(_image), GatewayAddress(g))
            .WithName($"stemedb-ct-{_run}-gateway-{GatewayName(g).ToLowerInvariant()}")
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
        HttpClient gateway = _gatewayClients[0].Http;
        string pad = new('p', 900);
        for (int batch = 0; batch < 40; batch++)
        {
            var assertions = Enumerable.Range(0, 100).Select(k => new { subject = $"pre:{batch}:{k}", predicate = "p", @object = new { pad } }).ToList();
            using HttpResponseMessage response = await gateway.PostAsJsonAsync("/v1/assertions", new { assertions }, cancellationToken);
            response.EnsureSuccessStatusCode();
            JsonElement ids = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("ids");
            for (int k = 0; k < assertions.Count; k++)
            {
                Ledger.AddWrite(assertions[k].subject, ids[k].GetString()!);
            }
        }

        await Poll.UntilAsync(
            async () =>
            {
                var holders = (await RangesAsync(0, cancellationToken)).SelectMany(r => r.Replicas).ToHashSet();
                return Enumerable.Range(0, NodeCount).All(i => holders.Contains(NodeId(i)));
            },
            TimeSpan.FromSeconds(90),
            "the preloaded ranges spread over all five nodes",
            step: TimeSpan.FromMilliseconds(500),
            cancellationToken: cancellationToken);
    }

    /// <summary>The ranges as gateway <paramref name="g"/> routes them.</summary>
    public async Task<List<RangeInfo>> RangesAsync(int g, CancellationToken cancellationToken = default) =>
        (await _gatewayClients[g].Http.GetFromJsonAsync<List<RangeInfo>>("/v1/cluster/ranges", JsonSerializerOptions.Web, cancellationToken))!;

    /// <summary>Waits until both gateways are ready (each failure says which, with its log).</summary>
    public async Task WaitGatewaysAsync(TimeSpan timeout) =>
        await Task.WhenAll(Enumerable.Range(0, GatewayCount).Select(g => WaitHttpAsync(new Uri(GatewayUrl(g), "/readyz"), timeout, _gateways[g])));

    /// <summary>
    /// Reads each subject with history=true (retracted assertions included), through gateway A and B in
    /// turn, three tries each; null where no try succeeded. Bounded: what is not read within
    /// <paramref name="limit"/> counts as unreadable.
    /// </summary>
    public async Task<Dictionary<string, IReadOnlyList<SeenAssertion>?>> ReadBackAsync(IEnumerable<string> subjects, TimeSpan limit)
    {
        var seen = new ConcurrentDictionary<string, IReadOnlyList<SeenAssertion>?>();
        using var deadline = new CancellationTokenSource(limit);
        List<string> all = [.. subjects];
        try
        {
            await Parallel.ForEachAsync(all, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = deadline.Token }, async (subject, ct) =>
            {
                seen[subject] = null;
                for (int attempt = 0; attempt < 3; attempt++)
                {
                    HttpClient gateway = _gatewayClients[attempt % GatewayCount].Http;
                    try
                    {
                        using HttpResponseMessage response = await gateway.GetAsync($"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions?history=true", ct);
                        if (response.IsSuccessStatusCode)
                        {
                            seen[subject] = Parse(await response.Content.ReadFromJsonAsync<List<JsonElement>>(ct));
                            return;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !ct.IsCancellationRequested))
                    {
                    }

                    await Task.Delay(500, ct);
                }
            });
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // The rest stay unread (absent, so unreadable to the checkers).
        }

        return all.ToDictionary(s => s, s => seen.TryGetValue(s, out IReadOnlyList<SeenAssertion>? v) ? v : null);
    }

    /// <summary>The ids of a gateway's list of assertions, each with whether it is retracted.</summary>
    public static IReadOnlyList<SeenAssertion> Parse(List<JsonElement>? assertions) =>
        [.. (assertions ?? []).Select(a => new SeenAssertion(
            a.GetProperty("id").GetString()!,
            a.TryGetProperty("retractedAt", out JsonElement r) && r.ValueKind != JsonValueKind.Null))];
}
