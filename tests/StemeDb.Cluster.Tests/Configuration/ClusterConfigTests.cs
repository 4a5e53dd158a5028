using Microsoft.Extensions.Configuration;
using StemeDb.Cluster.Configuration;

namespace StemeDb.Cluster.Tests.Configuration;

public class ClusterConfigTests
{
    private static IConfiguration Config(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();

    [Fact]
    public void Defaults_follow_the_design()
    {
        ClusterConfig config = ClusterConfig.Bind(Config());
        Assert.Equal(4096, config.Sharding.ShardCount);
        Assert.Equal(3, config.Sharding.ReplicationFactor);
        Assert.Equal(64L << 20, config.Sharding.SplitThresholdBytes);
        Assert.Equal(20L << 20, config.Sharding.MergeThresholdBytes);
        Assert.Equal(TimeSpan.FromSeconds(1), config.Swim.ProbeInterval);
        Assert.Equal(1400, config.Swim.MaxPacketBytes);
    }

    [Fact]
    public void Binds_the_Cluster_section()
    {
        ClusterConfig config = ClusterConfig.Bind(Config(
            ("Cluster:NodeId", "stemedb-node-7"),
            ("Cluster:Sharding:ShardCount", "1024"),
            ("Cluster:Sharding:ReplicationFactor", "5"),
            ("Cluster:Swim:BindPort", "8000"),
            ("Cluster:Swim:ProbeInterval", "00:00:02"),
            ("Cluster:Swim:ProbeTimeout", "00:00:00.400"),
            ("Cluster:Swim:Seeds:0", "10.0.0.1:7946"),
            ("Cluster:Swim:Seeds:1", "seed.example:7946")));
        Assert.Equal("stemedb-node-7", config.Node.Value);
        Assert.Equal(1024, config.Sharding.ShardCount);
        Assert.Equal(5, config.Sharding.ReplicationFactor);
        Assert.Equal(8000, config.Swim.BindPort);
        Assert.Equal(TimeSpan.FromSeconds(2), config.Swim.ProbeInterval);
        Assert.Equal(["10.0.0.1:7946", "seed.example:7946"], config.Swim.Seeds);
    }

    [Theory]
    [InlineData("Cluster:Sharding:ReplicationFactor", "0", "Cluster:Sharding:ReplicationFactor must be between 1 and 7 (was 0)")]
    [InlineData("Cluster:Sharding:ShardCount", "0", "Cluster:Sharding:ShardCount must be between 1 and 1048576 (was 0)")]
    [InlineData("Cluster:Sharding:ShardCount", "2000000", "Cluster:Sharding:ShardCount must be between 1 and 1048576")]
    [InlineData("Cluster:Sharding:MergeThresholdBytes", "40000000", "must be at most half of Cluster:Sharding:SplitThresholdBytes")]
    [InlineData("Cluster:NodeId", "Node_1", "may only hold lower-case letters")]
    [InlineData("Cluster:Swim:ProbeTimeout", "00:00:02", "Cluster:Swim:ProbeTimeout (00:00:02) must be shorter than Cluster:Swim:ProbeInterval")]
    [InlineData("Cluster:Swim:Seeds:0", "no-port", "Cluster:Swim:Seeds:0 must be host:port")]
    [InlineData("Cluster:Swim:Keys:0", "c2hvcnQ=", "Cluster:Swim:Keys:0 must be 32 bytes in base64")]
    [InlineData("Cluster:Swim:MaxPacketBytes", "9000", "Cluster:Swim:MaxPacketBytes must be between 512 and 1400")]
    [InlineData("Cluster:Swim:BindAddress", "localhost", "Cluster:Swim:BindAddress must be an IP address")]
    public void Validation_names_the_bad_setting(string key, string value, string message)
    {
        var error = Assert.Throws<ClusterConfigException>(() => ClusterConfig.Bind(Config((key, value))));
        Assert.Contains(error.Errors, e => e.Contains(message, StringComparison.Ordinal));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Split_threshold_must_be_above_the_merge_threshold()
    {
        var error = Assert.Throws<ClusterConfigException>(() =>
            new ClusterConfigBuilder().WithRangeThresholds(splitBytes: 16L << 20, mergeBytes: 32L << 20).Build());
        Assert.Contains(error.Errors, e => e.Contains("MergeThresholdBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once()
    {
        var error = Assert.Throws<ClusterConfigException>(() => ClusterConfig.Bind(Config(
            ("Cluster:Sharding:ReplicationFactor", "0"),
            ("Cluster:Swim:BindPort", "70000"))));
        Assert.Equal(2, error.Errors.Count);
    }

    [Fact]
    public void A_misspelt_setting_is_an_error_not_a_silent_default()
    {
        var error = Assert.Throws<ClusterConfigException>(() => ClusterConfig.Bind(Config(("Cluster:Sharding:ShardCuont", "8"))));
        Assert.Contains("ShardCuont", error.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_setting()
    {
        var error = Assert.Throws<ClusterConfigException>(() => ClusterConfig.Bind(Config(("Cluster:Sharding:ShardCount", "many"))));
        Assert.Contains("ShardCount", error.Message);
    }

    [Fact]
    public void The_builder_produces_a_validated_config()
    {
        ClusterConfig config = new ClusterConfigBuilder()
            .WithNodeId("stemedb-node-2")
            .WithShardCount(256)
            .WithReplicationFactor(1)
            .WithSwimEndpoint("127.0.0.1", 0)
            .WithSeeds("127.0.0.1:7946")
            .WithKeys(Convert.ToBase64String(new byte[32]))
            .Build();
        Assert.Equal(256, config.Sharding.ShardCount);
        Assert.Equal(0, config.Swim.BindPort);
        Assert.Throws<ClusterConfigException>(() => new ClusterConfigBuilder().WithReplicationFactor(9).Build());
    }
}
