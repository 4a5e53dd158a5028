using System.Diagnostics;
using Xunit.Abstractions;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Network partitions made with iptables in the containers' namespaces (<see cref="NetworkFaults"/>):
/// a 2|3 partition with a gateway on each side, a range leader cut off from every other node while both
/// gateways still reach it, a range leader cut off from its two fellow replicas only, and a gateway cut
/// off from one leader only (one way). Each cut lasts
/// <see cref="Cut"/> under the workload, then heals, and the workload goes on past twice the nodes' drop
/// grace (so data a node dropped after the heal is gone by the read-back). README, "Guarantees": the side without a
/// majority of a range's replicas cannot change that range, a write is acknowledged by a majority of the
/// listed replicas, a read is answered only from a majority; so no acknowledged write may be lost, no
/// read may be stale, no retraction undone.
/// </summary>
[Collection(ContainerClusterCollection.Name)]
public sealed class PartitionScenarioTests(ContainerCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Cut = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan AfterHeal = 2.5 * ContainerCluster.DropGrace;
    private readonly ScenarioRunner _runner = new(cluster, output);

    [SkippableFact]
    public async Task Network_faults_drop_udp_and_tcp_in_the_directions_cut_and_heal()
    {
        await _runner.PrepareAsync();
        NetworkFaults faults = cluster.Faults;
        FaultEndpoint n1 = cluster.NodeEndpoint(0), n2 = cluster.NodeEndpoint(1), n3 = cluster.NodeEndpoint(2);
        try
        {
            // Symmetric: {1, 2} | {3, 4, 5}. TCP (HTTP) is cut across, not within a side.
            await faults.PartitionAsync([n1, n2], [.. new[] { 2, 3, 4 }.Select(cluster.NodeEndpoint)]);
            Assert.False(await faults.CanConnectTcpAsync(n1, n3.Address, 5000), "TCP from node 1 to node 3 passed a partition");
            Assert.False(await faults.CanConnectTcpAsync(n3, n1.Address, 5000), "TCP from node 3 to node 1 passed a partition");
            Assert.True(await faults.CanConnectTcpAsync(n1, n2.Address, 5000), "TCP within a side was cut");
            Assert.True(await faults.CanConnectTcpAsync(cluster.GatewayEndpoint(0), n3.Address, 5000), "TCP from a gateway outside the partition was cut");

            // UDP (SWIM): each side reports the other not alive, and both sides' rules dropped SWIM datagrams.
            TimeSpan? apart = await _runner.UntilCutOffAsync([0, 1], [2, 3, 4], Stopwatch.StartNew(), TimeSpan.FromSeconds(30));
            Assert.NotNull(apart);
            long before = (await faults.DroppedAsync(n3)).Udp;
            await faults.SendUdpAsync(n1, n3.Address, 7946);
            DroppedPackets atN3 = await faults.DroppedAsync(n3), atN1 = await faults.DroppedAsync(n1);
            output.WriteLine($"partition reported by SWIM after {apart!.Value.TotalSeconds:F1} s; dropped at node 3: {atN3}, at node 1: {atN1}");
            Assert.True(atN3.Udp > before, "the probe datagram from node 1 was not dropped at node 3");
            Assert.True(atN1.Udp > 0 && atN3.Tcp > 0, "no SWIM datagram or TCP segment was dropped");

            // Asymmetric: only node 1 → node 3 is dropped. UDP flows the other way; TCP fails both ways (the handshake needs both).
            await faults.HealAsync();
            await faults.BlockAsync(n1, n3);
            Assert.False(await faults.CanConnectTcpAsync(n1, n3.Address, 5000), "TCP from node 1 to node 3 passed a one-way cut");
            Assert.False(await faults.CanConnectTcpAsync(n3, n1.Address, 5000), "a TCP handshake completed although its replies were dropped");
            long n3Before = (await faults.DroppedAsync(n3)).Udp;
            await faults.SendUdpAsync(n1, n3.Address, 7946);
            await faults.SendUdpAsync(n3, n1.Address, 7946);
            Assert.True((await faults.DroppedAsync(n3)).Udp > n3Before, "UDP from node 1 to node 3 passed a one-way cut");
            Assert.Equal(new DroppedPackets(0, 0, 0), await faults.DroppedAsync(n1)); // nothing is dropped toward node 3's side of it

            await faults.HealAsync();
            Assert.True(await faults.CanConnectTcpAsync(n1, n3.Address, 5000), "TCP still cut after healing");
            Assert.Equal(new DroppedPackets(0, 0, 0), await faults.DroppedAsync(n3));
            for (int node = 0; node < ContainerCluster.NodeCount; node++)
            {
                await _runner.UntilStateAsync(node, "alive", Stopwatch.StartNew());
            }
        }
        finally
        {
            await faults.HealAsync();
        }
    }

    [SkippableFact]
    public async Task A_2_3_partition_with_a_gateway_on_each_side_loses_nothing()
    {
        await _runner.PrepareAsync();
        List<RangeInfo> ranges = await cluster.RangesAsync(0);
        // The minority: the leader of a range and a node that is not its replica, so the range's other two
        // replicas (a majority of it) are on the other side with the third node.
        RangeInfo range = ranges.Where(r => r.Leader is not null && r.Replicas.Count == 3).OrderBy(r => r.StartShard).First();
        int leader = ContainerCluster.NodeIndex(range.Leader!);
        int outsider = Enumerable.Range(0, ContainerCluster.NodeCount).First(i => !range.Replicas.Contains(ContainerCluster.NodeId(i)));
        int[] minority = [leader, outsider];
        int[] majority = [.. Enumerable.Range(0, ContainerCluster.NodeCount).Except(minority)];
        List<RangeInfo> split = [.. ranges.Where(r => r.Replicas.Any(n => minority.Contains(ContainerCluster.NodeIndex(n))) && r.Replicas.Any(n => majority.Contains(ContainerCluster.NodeIndex(n))))];
        output.WriteLine($"cut: {Names(minority)} + gateway A | {Names(majority)} + gateway B; range {range.Id} [{range.StartShard}, {range.EndShard}) replicas {string.Join(",", range.Replicas)} leader {range.Leader}; {split.Count} of {ranges.Count} ranges have replicas on both sides");
        output.WriteLine(Describe("ranges before", ranges));

        await _runner.RunAsync("partition 2|3, gateway A with the 2, B with the 3", async clock =>
        {
            await cluster.Faults.PartitionAsync(
                [.. minority.Select(cluster.NodeEndpoint), cluster.GatewayEndpoint(0)],
                [.. majority.Select(cluster.NodeEndpoint), cluster.GatewayEndpoint(1)]);
            return await HoldAndHealAsync(clock, () => _runner.UntilCutOffAsync(minority, majority, clock, Cut));
        }, LoadFocus.On(split));
    }

    [SkippableFact]
    public async Task A_leader_cut_off_from_its_replicas_but_not_from_the_gateways_loses_nothing()
    {
        await _runner.PrepareAsync();
        List<RangeInfo> ranges = await cluster.RangesAsync(0);
        // The node leading the most ranges, cut off from every other node; both gateways still reach it.
        int leader = ranges.Where(r => r.Leader is not null).GroupBy(r => ContainerCluster.NodeIndex(r.Leader!)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        int[] others = [.. Enumerable.Range(0, ContainerCluster.NodeCount).Where(i => i != leader)];
        List<RangeInfo> led = [.. ranges.Where(r => r.Leader == ContainerCluster.NodeId(leader))];
        output.WriteLine($"cut: {ContainerCluster.NodeId(leader)} (leads {led.Count} ranges) | {Names(others)}; both gateways reach every node");
        output.WriteLine(Describe("ranges before", ranges));

        await _runner.RunAsync("range leader cut off from its replicas (and every node), both gateways reach it", async clock =>
        {
            await cluster.Faults.PartitionAsync([cluster.NodeEndpoint(leader)], [.. others.Select(cluster.NodeEndpoint)]);
            // Reported when the others see it not alive (the node itself, answered by no one, probes ever slower: Lifeguard).
            return await HoldAndHealAsync(clock, () => _runner.UntilReportedAsync([leader], others, clock, Cut));
        }, LoadFocus.On(led));
    }

    [SkippableFact]
    public async Task A_leader_cut_off_from_its_two_fellow_replicas_only_loses_nothing()
    {
        await _runner.PrepareAsync();
        List<RangeInfo> ranges = await cluster.RangesAsync(0);
        // Only the links between a range's leader and its other two replicas; the other nodes and both
        // gateways still reach all three (so SWIM's indirect probes may keep everyone alive).
        RangeInfo range = ranges.Where(r => r.Leader is not null && r.Replicas.Count == 3).OrderBy(r => r.StartShard).First();
        int leader = ContainerCluster.NodeIndex(range.Leader!);
        int[] fellows = [.. range.Replicas.Select(ContainerCluster.NodeIndex).Where(i => i != leader)];
        output.WriteLine($"cut: {range.Leader} | {Names(fellows)} (range [{range.StartShard}, {range.EndShard}) replicas {string.Join(",", range.Replicas)}); every other link up");
        output.WriteLine(Describe("ranges before", ranges));

        await _runner.RunAsync("range leader cut off from its two fellow replicas only", async clock =>
        {
            await cluster.Faults.PartitionAsync([cluster.NodeEndpoint(leader)], [.. fellows.Select(cluster.NodeEndpoint)]);
            return await HoldAndHealAsync(clock, () => _runner.UntilReportedAsync([leader], fellows, clock, Cut));
        }, LoadFocus.On([range]));
    }

    [SkippableFact]
    public async Task A_gateway_cut_off_from_one_leader_only_loses_nothing()
    {
        await _runner.PrepareAsync();
        List<RangeInfo> ranges = await cluster.RangesAsync(0);
        int leader = ranges.Where(r => r.Leader is not null).GroupBy(r => ContainerCluster.NodeIndex(r.Leader!)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        List<RangeInfo> led = [.. ranges.Where(r => r.Leader == ContainerCluster.NodeId(leader))];
        output.WriteLine($"cut: gateway A → {ContainerCluster.NodeId(leader)} (leads {led.Count} ranges) dropped, one way; every other link up");

        await _runner.RunAsync("gateway A → one leader dropped (one way), all else up", async clock =>
        {
            await cluster.Faults.BlockAsync(cluster.GatewayEndpoint(0), cluster.NodeEndpoint(leader));
            return await HoldAndHealAsync(clock, () => Task.FromResult<TimeSpan?>(null));
        }, LoadFocus.On(led));
    }

    /// <summary>
    /// The cut is in place: note when SWIM reports it (<paramref name="reported"/>, bounded by the cut), hold
    /// it for <see cref="Cut"/>, heal, wait until every node is alive in every view, then until
    /// <see cref="AfterHeal"/> has passed since the heal, the workload running throughout.
    /// </summary>
    private async Task<(TimeSpan? Detected, TimeSpan? Recovered)> HoldAndHealAsync(Stopwatch clock, Func<Task<TimeSpan?>> reported)
    {
        TimeSpan? detected;
        try
        {
            detected = await reported();
            if (Cut - clock.Elapsed is { Ticks: > 0 } rest)
            {
                await Task.Delay(rest);
            }

            output.WriteLine(Describe("ranges at the end of the cut, gateway A", await RangesOrEmptyAsync(0)));
            output.WriteLine(Describe("ranges at the end of the cut, gateway B", await RangesOrEmptyAsync(1)));
        }
        finally
        {
            await cluster.Faults.HealAsync();
        }

        var back = Stopwatch.StartNew();
        for (int node = 0; node < ContainerCluster.NodeCount; node++)
        {
            await _runner.UntilStateAsync(node, "alive", back);
        }

        TimeSpan recovered = back.Elapsed;
        if (AfterHeal - back.Elapsed is { Ticks: > 0 } wait)
        {
            await Task.Delay(wait);
        }

        output.WriteLine(Describe($"ranges {back.Elapsed.TotalSeconds:F0} s after the heal", await RangesOrEmptyAsync(0)));
        return (detected, recovered);
    }

    private async Task<List<RangeInfo>> RangesOrEmptyAsync(int gateway)
    {
        try
        {
            return await cluster.RangesAsync(gateway);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            output.WriteLine($"gateway {ContainerCluster.GatewayName(gateway)}: ranges unavailable ({e.Message})");
            return [];
        }
    }

    private static string Names(IEnumerable<int> nodes) => "{" + string.Join(", ", nodes.Select(ContainerCluster.NodeId)) + "}";

    private static string Describe(string title, IEnumerable<RangeInfo> ranges) =>
        $"{title}:\n" + string.Join('\n', ranges.Select(r => $"  [{r.StartShard}, {r.EndShard}) gen {r.Generation} replicas {string.Join(",", r.Replicas)} leader {r.Leader ?? "none"}"));
}
