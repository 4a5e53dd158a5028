using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StemeDb.Cluster.Configuration;
using StemeDb.Hosting;
using StemeDb.Storage;

namespace StemeDb.Node.Tests;

/// <summary>
/// The pairs <see cref="NodeSettings"/> writes are the configuration the embedded cluster, the loopback
/// tests and the load generator give their nodes: keys and texts pinned here, so a change to either shows.
/// </summary>
public sealed class NodeSettingsTests
{
    private const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    // The second node of a loopback test cluster (NodeCluster's settings), over the Dapr adapter.
    private static NodeSettings Typical() => new NodeSettings
    {
        NodeId = "stemedb-node-2",
        Urls = new Uri("http://127.0.0.1:5002"),
        LogLevels = new Dictionary<string, LogLevel> { ["Default"] = LogLevel.Warning },
        ShardCount = 256,
        InitialRanges = 1,
        SwimBindAddress = "127.0.0.1",
        SwimBindPort = 7947,
        SwimKeys = [Key],
        SwimSeeds = ["127.0.0.1:7946"],
        Genesis = ["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"],
        Transport = Transport.Dapr,
        DataDirectory = "/tmp/stemedb/node-2",
        SyncWrites = false,
        RangeCheckInterval = TimeSpan.FromMilliseconds(300),
        AntiEntropyInterval = TimeSpan.FromSeconds(1),
    }.WithSwimTimings(SwimConfig.Local());

    [Fact]
    public void A_typical_node_gets_exactly_these_pairs()
    {
        var expected = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:5002/",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Cluster:NodeId"] = "stemedb-node-2",
            ["Cluster:Sharding:ShardCount"] = "256",
            ["Cluster:Sharding:InitialRanges"] = "1",
            ["Cluster:Swim:BindAddress"] = "127.0.0.1",
            ["Cluster:Swim:BindPort"] = "7947",
            ["Cluster:Swim:ProbeInterval"] = "00:00:00.3000000",
            ["Cluster:Swim:ProbeTimeout"] = "00:00:00.1500000",
            ["Cluster:Swim:GossipInterval"] = "00:00:00.0600000",
            ["Cluster:Swim:PushPullInterval"] = "00:00:03",
            ["Cluster:Swim:SuspicionMult"] = "2",
            ["Cluster:Swim:Seeds:0"] = "127.0.0.1:7946",
            ["Cluster:Swim:Keys:0"] = Key,
            ["Node:HttpAddress"] = "http://127.0.0.1:5002",
            ["Node:Genesis:0"] = "stemedb-node-1",
            ["Node:Genesis:1"] = "stemedb-node-2",
            ["Node:Genesis:2"] = "stemedb-node-3",
            ["Node:Transport"] = "Dapr",
            ["Node:RangeCheckInterval"] = "00:00:00.3000000",
            ["Node:AntiEntropyInterval"] = "00:00:01",
            ["Storage:DataDirectory"] = "/tmp/stemedb/node-2",
            ["Storage:SyncWrites"] = "false",
        };

        Assert.Equal(Sorted(expected), Sorted(Typical().ToConfiguration()));
    }

    [Fact]
    public void The_pairs_bind_strictly_to_the_options_the_node_reads()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(Typical().ToConfiguration()).Build();
        var errors = new List<string>();
        ClusterConfig cluster = ClusterConfig.Bind(configuration);
        NodeOptions node = StrictOptions.Bind<NodeOptions>(configuration, NodeOptions.SectionName, errors);
        StorageOptions storage = StrictOptions.Bind<StorageOptions>(configuration, StorageOptions.SectionName, errors);

        Assert.Empty(errors);
        Assert.Equal("stemedb-node-2", cluster.NodeId);
        Assert.Equal(256, cluster.Sharding.ShardCount);
        Assert.Equal(1, cluster.Sharding.InitialRanges);
        Assert.Equal(7947, cluster.Swim.BindPort);
        Assert.Equal(["127.0.0.1:7946"], cluster.Swim.Seeds);
        Assert.Equal(SwimConfig.Local().ProbeTimeout, cluster.Swim.ProbeTimeout);
        Assert.Equal(SwimConfig.Local().SuspicionMult, cluster.Swim.SuspicionMult);
        Assert.Equal("http://127.0.0.1:5002", node.HttpAddress);
        Assert.Equal(["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"], node.Genesis);
        Assert.Equal(Transport.Dapr, node.Transport);
        Assert.Equal(TimeSpan.FromMilliseconds(300), node.RangeCheckInterval);
        Assert.False(storage.SyncWrites);
        Assert.Equal("/tmp/stemedb/node-2", storage.DataDirectory);
    }

    [Fact]
    public void Unset_settings_are_not_written_and_extra_keys_come_last()
    {
        // The embedded cluster's first node: no timings, intervals, transport or durability of its own.
        Dictionary<string, string?> pairs = new NodeSettings
        {
            NodeId = "stemedb-node-1",
            Urls = new Uri("http://127.0.0.1:5001"),
            LogLevels = new Dictionary<string, LogLevel> { ["Default"] = LogLevel.Warning, ["StemeDb"] = LogLevel.Information },
            SwimBindAddress = "127.0.0.1",
            SwimBindPort = 7946,
            SwimKeys = [Key],
            Genesis = ["stemedb-node-1"],
            DataDirectory = "data/stemedb-node-1",
            Extra = new Dictionary<string, string?> { ["Node:Genesis:0"] = "stemedb-node-9", ["APP_API_TOKEN"] = null },
        }.ToConfiguration();

        var expected = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:5001/",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:StemeDb"] = "Information",
            ["Cluster:NodeId"] = "stemedb-node-1",
            ["Cluster:Swim:BindAddress"] = "127.0.0.1",
            ["Cluster:Swim:BindPort"] = "7946",
            ["Cluster:Swim:Keys:0"] = Key,
            ["Node:HttpAddress"] = "http://127.0.0.1:5001",
            ["Node:Genesis:0"] = "stemedb-node-9",
            ["Storage:DataDirectory"] = "data/stemedb-node-1",
            ["APP_API_TOKEN"] = null,
        };
        Assert.Equal(Sorted(expected), Sorted(pairs));
    }

    private static List<KeyValuePair<string, string?>> Sorted(Dictionary<string, string?> pairs) =>
        [.. pairs.OrderBy(p => p.Key, StringComparer.Ordinal)];
}
