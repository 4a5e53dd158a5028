using System.Diagnostics;
using Xunit.Abstractions;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Faults a loopback test cannot make: a container killed, frozen, cut off the network, restarted; each
/// under a steady workload (writes, reads, retractions) through both gateways, each followed by the
/// history check and by reading back every write acknowledged so far (the preload and all earlier
/// scenarios included). See <see cref="ScenarioRunner"/>.
/// </summary>
[Collection(ContainerClusterCollection.Name)]
public sealed class FaultScenarioTests(ContainerCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan FaultTimeout = ScenarioRunner.FaultTimeout;
    private readonly ScenarioRunner _runner = new(cluster, output);

    // The product's SWIM defaults (ProbeInterval 1 s, SuspicionMult 1, SuspicionMaxTimeoutMult 6): with
    // five members the suspicion timeout is between 1 s (enough confirmations) and 6 s.
    private static readonly TimeSpan ShortPause = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LongPause = TimeSpan.FromSeconds(12);

    [SkippableFact]
    public async Task A_killed_node_restarted_on_its_volume_loses_nothing() => await Scenario("node killed (SIGKILL), restarted on its volume", async clock =>
    {
        const int victim = 1;
        await cluster.KillAsync(cluster.Node(victim));
        TimeSpan detected = await UntilState(victim, "dead", clock);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var back = Stopwatch.StartNew();
        await cluster.StartAgainAsync(cluster.Node(victim));
        await UntilState(victim, "alive", back);
        return (detected, back.Elapsed);
    });

    [SkippableFact]
    public async Task A_node_paused_shorter_than_the_suspicion_timeout_is_not_declared_dead() => await Scenario($"node paused {ShortPause.TotalSeconds:0.#} s (< suspicion timeout)", async clock =>
    {
        const int victim = 2;
        using var watching = new CancellationTokenSource();
        Task<bool> sawDead = EverState(victim, "dead", watching.Token);
        await cluster.Node(victim).PauseAsync();
        await Task.Delay(ShortPause);
        await cluster.Node(victim).UnpauseAsync();
        var back = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(8)); // long enough for a death to have been declared and spread
        await watching.CancelAsync();
        Assert.False(await sawDead, "a node frozen for less than the suspicion timeout was declared dead");
        await UntilState(victim, "alive", back);
        return (null, null);
    });

    [SkippableFact]
    public async Task A_node_paused_longer_than_the_suspicion_timeout_is_declared_dead_and_comes_back() => await Scenario($"node paused {LongPause.TotalSeconds:0} s (> suspicion timeout)", async clock =>
    {
        const int victim = 3;
        await cluster.Node(victim).PauseAsync();
        TimeSpan detected;
        try
        {
            detected = await UntilState(victim, "dead", clock);
            await Task.Delay(LongPause - clock.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
        }
        finally
        {
            await cluster.Node(victim).UnpauseAsync();
        }

        var back = Stopwatch.StartNew();
        await UntilState(victim, "alive", back);
        return (detected, back.Elapsed);
    });

    [SkippableFact]
    public async Task A_node_cut_off_the_network_and_reconnected_rejoins() => await Scenario("node disconnected from the network, reconnected", async clock =>
    {
        const int victim = 4;
        await cluster.DisconnectAsync(victim);
        TimeSpan detected;
        try
        {
            detected = await UntilState(victim, "dead", clock);
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        finally
        {
            await cluster.ReconnectAsync(victim);
        }

        var back = Stopwatch.StartNew();
        await UntilState(victim, "alive", back);
        return (detected, back.Elapsed);
    });

    [SkippableFact]
    public async Task A_rolling_restart_of_every_node_loses_nothing() => await Scenario("rolling restart of all 5 nodes (SIGTERM, start)", async clock =>
    {
        TimeSpan? firstReported = null;
        var back = Stopwatch.StartNew();
        for (int node = 0; node < ContainerCluster.NodeCount; node++)
        {
            var step = Stopwatch.StartNew();
            await cluster.StopGracefullyAsync(cluster.Node(node));
            TimeSpan reported = await UntilState(node, "left", step);
            firstReported ??= reported;
            await cluster.StartAgainAsync(cluster.Node(node));
            await UntilState(node, "alive", step);
            await ContainerCluster.WaitHttpAsync(new Uri(cluster.NodeUrl(node), "/readyz"), FaultTimeout, cluster.Node(node));
        }

        return (firstReported, back.Elapsed);
    });

    [SkippableFact]
    public async Task The_gateway_killed_and_restarted_loses_nothing() => await Scenario("gateway A killed (SIGKILL), restarted", async clock =>
    {
        await cluster.KillAsync(cluster.GatewayContainer(0));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var back = Stopwatch.StartNew();
        await cluster.StartAgainAsync(cluster.GatewayContainer(0));
        await ContainerCluster.WaitHttpAsync(new Uri(cluster.GatewayUrl(0), "/readyz"), FaultTimeout, cluster.GatewayContainer(0));
        return (null, back.Elapsed);
    });

    private Task Scenario(string name, Func<Stopwatch, Task<(TimeSpan? Detected, TimeSpan? Recovered)>> fault) => _runner.RunAsync(name, fault);

    private Task<TimeSpan> UntilState(int node, string state, Stopwatch clock) => _runner.UntilStateAsync(node, state, clock);

    private Task<bool> EverState(int node, string state, CancellationToken cancellationToken) => _runner.EverStateAsync(node, state, cancellationToken);
}
