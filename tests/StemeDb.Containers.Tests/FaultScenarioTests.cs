using System.Diagnostics;
using Xunit.Abstractions;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Faults a loopback test cannot make: a container killed, frozen, cut off the network, restarted; each
/// under a steady write load through the gateway, each followed by reading back every write acknowledged
/// so far (the preload and all earlier scenarios included). No acknowledged write may be missing.
/// </summary>
[Collection(nameof(ContainerCluster))]
public sealed class FaultScenarioTests(ContainerCluster cluster, ITestOutputHelper output)
{
    private const double Rate = 25; // writes per second
    private const int InFlight = 8;
    private static readonly TimeSpan Steady = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan FaultTimeout = TimeSpan.FromSeconds(60);

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
    public async Task The_gateway_killed_and_restarted_loses_nothing() => await Scenario("gateway killed (SIGKILL), restarted", async clock =>
    {
        await cluster.KillAsync(cluster.GatewayContainer);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var back = Stopwatch.StartNew();
        await cluster.StartAgainAsync(cluster.GatewayContainer);
        await ContainerCluster.WaitHttpAsync(new Uri(cluster.Gateway.BaseAddress!, "/readyz"), FaultTimeout, cluster.GatewayContainer);
        return (null, back.Elapsed);
    });

    /// <summary>Load on, steady state, the fault and its repair, steady state, load off; then the full read-back.</summary>
    private async Task Scenario(string name, Func<Stopwatch, Task<(TimeSpan? Detected, TimeSpan? Recovered)>> fault)
    {
        ContainerEngine.SkipUnlessAvailable();
        var load = new LoadGenerator(cluster.Gateway, name.GetHashCode(StringComparison.Ordinal).ToString("x8", System.Globalization.CultureInfo.InvariantCulture), Rate, InFlight);
        load.Start();
        (TimeSpan? detected, TimeSpan? recovered) = (null, null);
        try
        {
            await Task.Delay(Steady);
            (detected, recovered) = await fault(Stopwatch.StartNew());
            await Task.Delay(Steady);
        }
        finally
        {
            LoadResult result = await load.StopAsync();
            foreach ((string subject, string id) in result.Acknowledged)
            {
                cluster.Ledger[subject] = id;
            }

            // The gateway must be up to read through it (a dead gateway fails here, with its log).
            await ContainerCluster.WaitHttpAsync(new Uri(cluster.Gateway.BaseAddress!, "/readyz"), FaultTimeout, cluster.GatewayContainer);
            List<string> missing = await cluster.MissingAsync();
            var row = new ScenarioRow(name, result.Acknowledged.Count, result.Acknowledged.Count(a => !missing.Contains(a.Subject)), result.Attempted, result.Failed, result.NotSent, result.LongestUnavailable, detected, recovered);
            cluster.Report.Add(row.ToString());
            output.WriteLine(ScenarioRow.Header);
            output.WriteLine(ScenarioRow.Rule);
            output.WriteLine(row.ToString());
            output.WriteLine($"ledger: {cluster.Ledger.Count} acknowledged writes so far, {missing.Count} missing: {string.Join(", ", missing.Take(10))}");
            Assert.Empty(missing);
        }
    }

    /// <summary>Waits until every other reachable node reports <paramref name="state"/> for the node; returns the time since <paramref name="clock"/> started.</summary>
    private async Task<TimeSpan> UntilState(int node, string state, Stopwatch clock)
    {
        int[] everyone = [.. Enumerable.Range(0, ContainerCluster.NodeCount)];
        while (clock.Elapsed < FaultTimeout)
        {
            string?[] seen = await cluster.StatesOfAsync(node, everyone);
            if (seen.Any(s => s is not null) && seen.Where(s => s is not null).All(s => s == state))
            {
                return clock.Elapsed;
            }

            await Task.Delay(100);
        }

        string logs = await cluster.LogsAsync(cluster.Node(node));
        throw new TimeoutException($"{ContainerCluster.NodeId(node)} was not reported {state} within {FaultTimeout}: {string.Join(", ", await cluster.StatesOfAsync(node, everyone))}\n{logs}");
    }

    /// <summary>Watches until cancelled whether any node ever reports <paramref name="state"/> for the node.</summary>
    private async Task<bool> EverState(int node, string state, CancellationToken cancellationToken)
    {
        int[] everyone = [.. Enumerable.Range(0, ContainerCluster.NodeCount)];
        while (!cancellationToken.IsCancellationRequested)
        {
            if ((await cluster.StatesOfAsync(node, everyone)).Contains(state))
            {
                return true;
            }

            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return false;
    }
}
