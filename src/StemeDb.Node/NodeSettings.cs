using System.Globalization;
using StemeDb.Cluster.Configuration;
using StemeDb.Hosting;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// One node's configuration in typed form, for code that starts node apps itself (the embedded cluster,
/// the in-process tests, the load generator) rather than writing configuration keys by hand.
/// <see cref="ToConfiguration"/> turns it into the key/value pairs <see cref="NodeApp.Build"/> binds
/// (<c>Cluster:Swim:BindPort</c>, <c>Node:Genesis:0</c>, ...). A setting left null or empty is not written,
/// so the node's own default applies; <see cref="Extra"/> carries the keys this record does not model.
/// </summary>
public sealed record NodeSettings
{
    private const string ClusterSection = ClusterConfig.SectionName;
    private const string SwimSection = $"{ClusterConfig.SectionName}:{nameof(ClusterConfig.Swim)}";
    private const string ShardingSection = $"{ClusterConfig.SectionName}:{nameof(ClusterConfig.Sharding)}";
    private const string NodeSection = NodeOptions.SectionName;
    private const string StorageSection = StorageOptions.SectionName;

    /// <summary>This node's id (<c>Cluster:NodeId</c>).</summary>
    public required string NodeId { get; init; }

    /// <summary>The address Kestrel listens on (<c>urls</c>).</summary>
    public Uri? Urls { get; init; }

    /// <summary>
    /// The URL peers and gateways reach this node at (<c>Node:HttpAddress</c>); <see cref="Urls"/> unless
    /// set, which is right when the node listens on the address others use (loopback).
    /// </summary>
    public Uri? HttpAddress { get; init; }

    /// <summary>The IP address SWIM's UDP socket binds to (<c>Cluster:Swim:BindAddress</c>).</summary>
    public string? SwimBindAddress { get; init; }

    /// <summary>SWIM's UDP port (<c>Cluster:Swim:BindPort</c>).</summary>
    public int? SwimBindPort { get; init; }

    /// <summary>SWIM addresses (<c>host:port</c>) to join through (<c>Cluster:Swim:Seeds</c>); none forms a new cluster.</summary>
    public IReadOnlyList<string> SwimSeeds { get; init; } = [];

    /// <summary>Cluster keys, base64, 32 bytes each (<c>Cluster:Swim:Keys</c>).</summary>
    public IReadOnlyList<string> SwimKeys { get; init; } = [];

    /// <summary><c>Cluster:Swim:ProbeInterval</c>; see <see cref="WithSwimTimings"/>.</summary>
    public TimeSpan? SwimProbeInterval { get; init; }

    /// <summary><c>Cluster:Swim:ProbeTimeout</c>.</summary>
    public TimeSpan? SwimProbeTimeout { get; init; }

    /// <summary><c>Cluster:Swim:GossipInterval</c>.</summary>
    public TimeSpan? SwimGossipInterval { get; init; }

    /// <summary><c>Cluster:Swim:PushPullInterval</c>.</summary>
    public TimeSpan? SwimPushPullInterval { get; init; }

    /// <summary><c>Cluster:Swim:SuspicionMult</c>.</summary>
    public int? SwimSuspicionMult { get; init; }

    /// <summary><c>Cluster:Sharding:ShardCount</c>.</summary>
    public int? ShardCount { get; init; }

    /// <summary>How many ranges the genesis table has (<c>Cluster:Sharding:InitialRanges</c>; 0 is 8 per founder).</summary>
    public int? InitialRanges { get; init; }

    /// <summary>The founding members, the same list on every node of a cluster (<c>Node:Genesis</c>).</summary>
    public IReadOnlyList<string> Genesis { get; init; } = [];

    /// <summary>How the node reaches the others (<c>Node:Transport</c>).</summary>
    public Transport? Transport { get; init; }

    /// <summary><c>Node:RangeCheckInterval</c>.</summary>
    public TimeSpan? RangeCheckInterval { get; init; }

    /// <summary><c>Node:AntiEntropyInterval</c>.</summary>
    public TimeSpan? AntiEntropyInterval { get; init; }

    /// <summary>The RocksDB directory (<c>Storage:DataDirectory</c>).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Whether acknowledged writes are fsynced (<c>Storage:SyncWrites</c>).</summary>
    public bool? SyncWrites { get; init; }

    /// <summary>Log levels by category, <c>Default</c> included (<c>Logging:LogLevel:{category}</c>).</summary>
    public IReadOnlyDictionary<string, LogLevel> LogLevels { get; init; } = new Dictionary<string, LogLevel>();

    /// <summary>Further keys, written last: they override the modelled ones (a null value is written as null).</summary>
    public IReadOnlyDictionary<string, string?> Extra { get; init; } = new Dictionary<string, string?>();

    /// <summary>These settings with the SWIM timings of <paramref name="swim"/> (a preset such as <see cref="SwimConfig.Local"/>).</summary>
    public NodeSettings WithSwimTimings(SwimConfig swim)
    {
        ArgumentNullException.ThrowIfNull(swim);
        return this with
        {
            SwimProbeInterval = swim.ProbeInterval,
            SwimProbeTimeout = swim.ProbeTimeout,
            SwimGossipInterval = swim.GossipInterval,
            SwimPushPullInterval = swim.PushPullInterval,
            SwimSuspicionMult = swim.SuspicionMult,
        };
    }

    /// <summary>
    /// The configuration pairs, for <c>AddInMemoryCollection</c>: numbers and times in the invariant culture
    /// (times as <c>TimeSpan</c>'s "c" format), booleans as <c>true</c>/<c>false</c>. A fresh dictionary each
    /// call, so a caller may add to it.
    /// </summary>
    public Dictionary<string, string?> ToConfiguration()
    {
        var pairs = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (Urls is not null)
        {
            pairs[WebHostDefaults.ServerUrlsKey] = Urls.ToString();
        }

        foreach ((string category, LogLevel level) in LogLevels)
        {
            pairs[$"Logging:LogLevel:{category}"] = level.ToString();
        }

        pairs[$"{ClusterSection}:{nameof(ClusterConfig.NodeId)}"] = NodeId;
        Put(pairs, $"{ShardingSection}:{nameof(ShardingConfig.ShardCount)}", ShardCount);
        Put(pairs, $"{ShardingSection}:{nameof(ShardingConfig.InitialRanges)}", InitialRanges);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.BindAddress)}", SwimBindAddress);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.BindPort)}", SwimBindPort);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.ProbeInterval)}", SwimProbeInterval);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.ProbeTimeout)}", SwimProbeTimeout);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.GossipInterval)}", SwimGossipInterval);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.PushPullInterval)}", SwimPushPullInterval);
        Put(pairs, $"{SwimSection}:{nameof(SwimConfig.SuspicionMult)}", SwimSuspicionMult);
        PutList(pairs, $"{SwimSection}:{nameof(SwimConfig.Seeds)}", SwimSeeds);
        PutList(pairs, $"{SwimSection}:{nameof(SwimConfig.Keys)}", SwimKeys);
        Put(pairs, $"{NodeSection}:{nameof(NodeOptions.HttpAddress)}", (HttpAddress ?? Urls)?.ToString().TrimEnd('/'));
        PutList(pairs, $"{NodeSection}:{nameof(NodeOptions.Genesis)}", Genesis);
        Put(pairs, $"{NodeSection}:{nameof(NodeOptions.Transport)}", Transport?.ToString());
        Put(pairs, $"{NodeSection}:{nameof(NodeOptions.RangeCheckInterval)}", RangeCheckInterval);
        Put(pairs, $"{NodeSection}:{nameof(NodeOptions.AntiEntropyInterval)}", AntiEntropyInterval);
        Put(pairs, $"{StorageSection}:{nameof(StorageOptions.DataDirectory)}", DataDirectory);
        Put(pairs, $"{StorageSection}:{nameof(StorageOptions.SyncWrites)}", SyncWrites is { } sync ? (sync ? "true" : "false") : null);
        foreach ((string key, string? value) in Extra)
        {
            pairs[key] = value;
        }

        return pairs;
    }

    private static void Put(Dictionary<string, string?> pairs, string key, string? value)
    {
        if (value is not null)
        {
            pairs[key] = value;
        }
    }

    private static void Put(Dictionary<string, string?> pairs, string key, int? value) =>
        Put(pairs, key, value?.ToString(CultureInfo.InvariantCulture));

    private static void Put(Dictionary<string, string?> pairs, string key, TimeSpan? value) =>
        Put(pairs, key, value?.ToString("c", CultureInfo.InvariantCulture));

    private static void PutList(Dictionary<string, string?> pairs, string key, IReadOnlyList<string> values)
    {
        for (int i = 0; i < values.Count; i++)
        {
            pairs[$"{key}:{i.ToString(CultureInfo.InvariantCulture)}"] = values[i];
        }
    }
}
