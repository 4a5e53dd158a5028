using StemeDb.Membership.Simulation;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>
/// The simulator's figures are virtual-time facts of the protocol, not timings of this machine, so they
/// can be asserted: replayable by seed, and Lifeguard doing what it is for.
/// </summary>
public class SimulatorTests
{
    [Fact]
    public void The_same_seed_gives_the_same_figures()
    {
        SimulationResult first = Scenarios.Run("crash", 16, 3, seed: 11, lifeguard: true);
        SimulationResult second = Scenarios.Run("crash", 16, 3, seed: 11, lifeguard: true);
        Assert.Equal(first, second);
        Assert.Equal(0, first.Undetected);
        Assert.NotNull(first.DetectionMedianSeconds);
    }

    [Fact]
    public void Crash_detection_at_16_members_stays_within_the_design_bounds()
    {
        SimulationResult result = Scenarios.Run("crash", 16, 5, seed: 3, lifeguard: true);
        Assert.Equal(0, result.Undetected);
        Assert.Equal(0, result.FalseDeaths);
        Assert.InRange(result.DetectionMaxSeconds!.Value, 0.5, 10);
        Assert.InRange(result.LargestDatagram!.Value, 1, 1400);
    }

    [Fact]
    public void Lifeguard_spares_healthy_members_that_slow_members_accuse()
    {
        SimulationResult plain = Scenarios.Run("pause", 32, 1, seed: 5, lifeguard: false);
        SimulationResult lifeguard = Scenarios.Run("pause", 32, 1, seed: 5, lifeguard: true);
        Assert.True(plain.FalseDeathsHealthy > 20, $"plain SWIM killed only {plain.FalseDeathsHealthy} healthy members: the scenario is too mild to tell");
        Assert.True(lifeguard.FalseDeathsHealthy * 10 <= plain.FalseDeathsHealthy, $"Lifeguard {lifeguard.FalseDeathsHealthy} vs plain {plain.FalseDeathsHealthy}");
    }

    [Fact]
    public void After_a_partition_heals_all_views_converge()
    {
        SimulationResult result = Scenarios.Run("partition", 16, 1, seed: 2, lifeguard: true);
        Assert.Equal(0, result.Undetected);
        Assert.NotNull(result.HealMedianSeconds);
    }
}
