namespace StemeDb.Cluster.Configuration;

/// <summary>Fluent construction of a <see cref="ClusterConfig"/> in code (tests, the embedded cluster).</summary>
public sealed class ClusterConfigBuilder
{
    private readonly ClusterConfig _config = new();

    public ClusterConfigBuilder WithNodeId(string nodeId)
    {
        _config.NodeId = nodeId;
        return this;
    }

    public ClusterConfigBuilder WithShardCount(int shardCount)
    {
        _config.Sharding.ShardCount = shardCount;
        return this;
    }

    public ClusterConfigBuilder WithReplicationFactor(int replicationFactor)
    {
        _config.Sharding.ReplicationFactor = replicationFactor;
        return this;
    }

    public ClusterConfigBuilder WithRangeThresholds(long splitBytes, long mergeBytes)
    {
        _config.Sharding.SplitThresholdBytes = splitBytes;
        _config.Sharding.MergeThresholdBytes = mergeBytes;
        _config.Sharding.StrandedRangeBytes = Math.Min(_config.Sharding.StrandedRangeBytes, mergeBytes);
        return this;
    }

    public ClusterConfigBuilder WithMergeCooldown(TimeSpan cooldown)
    {
        _config.Sharding.MergeCooldown = cooldown;
        return this;
    }

    public ClusterConfigBuilder WithSwimEndpoint(string bindAddress, int bindPort, string? advertiseAddress = null)
    {
        _config.Swim.BindAddress = bindAddress;
        _config.Swim.BindPort = bindPort;
        _config.Swim.AdvertiseAddress = advertiseAddress;
        return this;
    }

    public ClusterConfigBuilder WithSeeds(params string[] seeds)
    {
        _config.Swim.Seeds = [.. seeds];
        return this;
    }

    public ClusterConfigBuilder WithKeys(params string[] base64Keys)
    {
        _config.Swim.Keys = [.. base64Keys];
        return this;
    }

    public ClusterConfigBuilder ConfigureSharding(Action<ShardingConfig> configure)
    {
        configure(_config.Sharding);
        return this;
    }

    public ClusterConfigBuilder ConfigureSwim(Action<SwimConfig> configure)
    {
        configure(_config.Swim);
        return this;
    }

    /// <summary>The validated configuration; throws <see cref="ClusterConfigException"/> naming each bad setting.</summary>
    public ClusterConfig Build() => _config.Validate();
}
