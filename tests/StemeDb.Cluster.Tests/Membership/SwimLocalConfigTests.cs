using StemeDb.Cluster.Configuration;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>The loopback preset: valid as it stands, and a fresh object every time (tests tweak their copy).</summary>
public sealed class SwimLocalConfigTests
{
    [Fact]
    public void The_local_preset_passes_validation()
    {
        var errors = new List<string>();
        SwimConfig.Local().Validate(errors, "Cluster:Swim:");

        Assert.Empty(errors);
    }

    [Fact]
    public void The_local_preset_shortens_the_protocol_timings_and_keeps_the_rest()
    {
        SwimConfig local = SwimConfig.Local();
        var defaults = new SwimConfig();

        Assert.True(local.ProbeInterval < defaults.ProbeInterval);
        Assert.True(local.ProbeTimeout < defaults.ProbeTimeout);
        Assert.True(local.GossipInterval < defaults.GossipInterval);
        Assert.True(local.PushPullInterval < defaults.PushPullInterval);
        Assert.Equal(defaults.GossipToTheDeadTime, local.GossipToTheDeadTime);
        Assert.Equal(defaults.JoinTimeout, local.JoinTimeout);
        Assert.Equal(defaults.Lifeguard, local.Lifeguard);
    }

    [Fact]
    public void Each_call_returns_a_new_configuration()
    {
        SwimConfig first = SwimConfig.Local();
        first.ProbeInterval = TimeSpan.FromSeconds(9);
        first.Seeds.Add("127.0.0.1:1");

        SwimConfig second = SwimConfig.Local();
        Assert.NotEqual(first.ProbeInterval, second.ProbeInterval);
        Assert.Empty(second.Seeds);
    }
}
