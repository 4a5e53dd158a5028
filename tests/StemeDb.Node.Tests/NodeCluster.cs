using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Cluster.Configuration;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>Node apps in this process on loopback: real Kestrel, real UDP, real RocksDB, direct adapter.</summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    public const int Shards = 256;
    private static readonly string SwimKey = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)b).ToArray());
    private readonly string _root = Path.Combine(Path.GetTempPath(), "stemedb-nodes-" + Guid.NewGuid().ToString("N"));
    private readonly List<int> _swimPorts = [];
    private Dictionary<string, string?> _extra = [];
    private int _genesis = 3;
    private int _initialRanges = 1;

    public List<WebApplication?> Apps { get; } = [];

    public List<Uri> Urls { get; } = [];

    /// <param name="perNode">Settings for node i (0-based) at its URL, e.g. the environment of its own sidecar.</param>
    /// <param name="perNodeServices">Services of node i (0-based) replaced after the defaults.</param>
    /// <param name="initialRanges">
    /// Ranges in the genesis table: one by default, so that a test's splits and moves start from one known
    /// range; 0 is the product's default (8 per founder).
    /// </param>
    public static async Task<NodeCluster> StartAsync(int nodes, Dictionary<string, string?>? extra = null, int genesis = 3, Func<int, Uri, Task<Dictionary<string, string?>>>? perNode = null, Func<int, Action<IServiceCollection>?>? perNodeServices = null, int initialRanges = 1)
    {
        var cluster = new NodeCluster { _extra = extra ?? [], _genesis = genesis, _initialRanges = initialRanges };
        for (int i = 0; i < nodes; i++)
        {
            cluster._swimPorts.Add(FreePorts.Udp());
            cluster.Urls.Add(new Uri($"http://127.0.0.1:{FreePorts.Tcp()}"));
        }

        for (int i = 0; i < nodes; i++)
        {
            Dictionary<string, string?> settings = cluster.Settings(i, nodes);
            foreach ((string key, string? value) in perNode is null ? [] : await perNode(i, cluster.Urls[i]))
            {
                settings[key] = value;
            }

            WebApplication app = NodeApp.Build([], c => c.AddInMemoryCollection(settings), perNodeServices?.Invoke(i));
            await app.StartAsync();
            cluster.Apps.Add(app);
        }

        return cluster;
    }

    /// <summary>Starts one more node that joins through node 1 (the founding list stays the same).</summary>
    /// <param name="settings">Settings of its own, over the cluster's (another genesis, say); a null value removes a setting.</param>
    public async Task AddNodeAsync(Dictionary<string, string?>? settings = null)
    {
        _swimPorts.Add(FreePorts.Udp());
        Urls.Add(new Uri($"http://127.0.0.1:{FreePorts.Tcp()}"));
        int i = Apps.Count;
        Dictionary<string, string?> own = Settings(i, i + 1);
        foreach ((string key, string? value) in settings ?? [])
        {
            if (value is null)
            {
                own.Remove(key);
            }
            else
            {
                own[key] = value;
            }
        }

        WebApplication app = NodeApp.Build([], c => c.AddInMemoryCollection(own));
        try
        {
            await app.StartAsync();
        }
        catch
        {
            Apps.Add(null); // keep the index of the next node
            await app.DisposeAsync();
            throw;
        }

        Apps.Add(app);
    }

    /// <summary>Starts node i again on its old ports and data directory, after <see cref="KillAsync"/>.</summary>
    /// <param name="services">Replaces services of the restarted node (a clock of its own).</param>
    public async Task RestartAsync(int i, Action<IServiceCollection>? services = null)
    {
        WebApplication app = NodeApp.Build([], c => c.AddInMemoryCollection(Settings(i, Urls.Count)), services);
        await app.StartAsync();
        Apps[i] = app;
    }

    public ClusterNode Node(int i) => Apps[i]!.Services.GetRequiredService<ClusterNode>();

    /// <summary>Waits until every node is ready and sees all of them alive (the start most tests need before they begin).</summary>
    public Task WaitJoinedAsync() =>
        Poll.UntilAsync(
            () => Task.FromResult(Enumerable.Range(0, Apps.Count).All(i => Node(i).IsReady && Node(i).Swim.ActiveMemberCount == Apps.Count)),
            TimeSpan.FromSeconds(20),
            $"{Apps.Count} nodes see each other");

    /// <summary>
    /// A change proposed through node i as its range work would (an operator's pre-split in these tests):
    /// decided by the replicas it replaces, then published. Fails the test unless it took effect.
    /// </summary>
    public async Task ProposeAsync(int i, StemeDb.Cluster.Sharding.RangeChangeKind kind, StemeDb.Cluster.Sharding.RangeDescriptor[] replaces, StemeDb.Cluster.Sharding.RangeDescriptor[] creates)
    {
        var change = new StemeDb.Cluster.Consensus.DescriptorChange(kind, [.. replaces], [.. creates]);
        StemeDb.Cluster.Consensus.ChangeResult result = await Apps[i]!.Services.GetRequiredService<DescriptorProposer>().ProposeAsync(change, "a test's change", CancellationToken.None);
        Assert.True(result.Took, $"the change was not decided: {result.Summary}");
    }

    /// <summary>
    /// Splits the one genesis range into halves on the same replicas (generation 1), proposed through node 0,
    /// and waits until every running node holds both.
    /// </summary>
    public async Task SplitGenesisInHalfAsync()
    {
        StemeDb.Cluster.Sharding.RangeDescriptor genesis = Node(0).Table.Current.Entries.Single().Descriptor;
        StemeDb.Cluster.Time.HlcTimestamp now = Node(0).Clock.Now();
        int half = Shards / 2;
        await ProposeAsync(0, StemeDb.Cluster.Sharding.RangeChangeKind.Split, [genesis], [
            new(genesis.Id, 0, half, genesis.Replicas, 1, now, Node(0).Id),
            new(StemeDb.Cluster.Sharding.RangeId.Derive(genesis.Id, 1, half), half, Shards, genesis.Replicas, 1, now, Node(0).Id)]);
        await Poll.UntilAsync(
            () => Task.FromResult(Enumerable.Range(0, Apps.Count).Where(i => Apps[i] is not null).All(i => Node(i).Table.Current.Entries.Length == 2)),
            TimeSpan.FromSeconds(10),
            "two ranges everywhere");
    }

    /// <summary>Kills node i: membership stops without a goodbye and its HTTP server goes away.</summary>
    public async Task KillAsync(int i)
    {
        WebApplication app = Apps[i]!;
        Apps[i] = null;
        await app.Services.GetRequiredService<ClusterNode>().AbortMembershipAsync();
        await app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(1)).Token);
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (WebApplication? app in Apps)
        {
            if (app is not null)
            {
                await app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
                await app.DisposeAsync();
            }
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private Dictionary<string, string?> Settings(int i, int nodes) =>
        new NodeSettings
        {
            NodeId = $"stemedb-node-{i + 1}",
            Urls = Urls[i],
            LogLevels = new Dictionary<string, LogLevel> { ["Default"] = LogLevel.Warning },
            ShardCount = Shards,
            InitialRanges = _initialRanges,
            SwimBindAddress = "127.0.0.1",
            SwimBindPort = _swimPorts[i],
            SwimKeys = [SwimKey],
            SwimSeeds = i > 0 ? [$"127.0.0.1:{_swimPorts[0]}"] : [],
            Genesis = [.. Enumerable.Range(1, Math.Min(nodes, _genesis)).Select(g => $"stemedb-node-{g}")],
            DataDirectory = Path.Combine(_root, $"node-{i + 1}"),
            SyncWrites = false,
            RangeCheckInterval = TimeSpan.FromMilliseconds(300),
            AntiEntropyInterval = TimeSpan.FromSeconds(1),
            Extra = _extra,
        }.WithSwimTimings(SwimConfig.Local()).ToConfiguration(); // the loopback preset's timings
}
