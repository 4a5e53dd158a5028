using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using StemeDb.Testing;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Network faults between containers, made with iptables inside a container's network namespace from the
/// host (<c>nsenter -t PID -n iptables …</c>, PID from the Docker API's <c>State.Pid</c>), so the container
/// image needs no tools and no privileges. A blocked direction from→to is dropped at the receiver's INPUT:
/// the packets are lost in the network, as in a real cut, and the sender only times out. (A DROP in the
/// sender's OUTPUT chain would fail its UDP send at once with EPERM, which no real partition does.) Each
/// blocked source gets one rule for UDP, one for TCP and one for the rest, so the counters show what was
/// dropped. The host is never cut: the test still reaches every container.
/// </summary>
public sealed class NetworkFaults(DockerClient docker)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);
    private readonly Lock _lock = new();
    private readonly HashSet<string> _touched = [];

    /// <summary>Drops every packet from <paramref name="from"/> to <paramref name="to"/>; the other direction still flows.</summary>
    public Task BlockAsync(FaultEndpoint from, FaultEndpoint to) => BlockAsync([(from, to)]);

    /// <summary>Drops the packets of each (from, to) direction.</summary>
    public async Task BlockAsync(IEnumerable<(FaultEndpoint From, FaultEndpoint To)> directions)
    {
        foreach (IGrouping<FaultEndpoint, (FaultEndpoint From, FaultEndpoint To)> at in directions.GroupBy(d => d.To))
        {
            List<string> rules = [];
            foreach (string source in at.Select(d => d.From.Address).Distinct())
            {
                rules.Add($"iptables -w -A INPUT -s {source} -p udp -j DROP");
                rules.Add($"iptables -w -A INPUT -s {source} -p tcp -j DROP");
                rules.Add($"iptables -w -A INPUT -s {source} -j DROP");
            }

            lock (_lock)
            {
                _touched.Add(at.Key.ContainerId);
            }

            await InNamespaceAsync(at.Key, "sh", "-c", string.Join(" && ", rules));
        }
    }

    /// <summary>Cuts the link between two containers in both directions.</summary>
    public Task CutAsync(FaultEndpoint a, FaultEndpoint b) => BlockAsync([(a, b), (b, a)]);

    /// <summary>A symmetric partition: nothing flows between a member of <paramref name="one"/> and a member of <paramref name="other"/>; each side still talks within itself.</summary>
    public Task PartitionAsync(IReadOnlyCollection<FaultEndpoint> one, IReadOnlyCollection<FaultEndpoint> other) =>
        BlockAsync(one.SelectMany(a => other.SelectMany(b => new[] { (a, b), (b, a) })));

    /// <summary>Removes every rule this instance added, in each container still running (a restarted container has a new namespace without them).</summary>
    public async Task HealAsync()
    {
        string[] containers;
        lock (_lock)
        {
            containers = [.. _touched];
            _touched.Clear();
        }

        foreach (string id in containers)
        {
            if (await PidAsync(id) is { } pid)
            {
                await HostCommand.RunCheckedAsync("nsenter", ["-t", pid, "-n", "iptables", "-w", "-F", "INPUT"], CommandTimeout);
            }
        }
    }

    /// <summary>What the rules at <paramref name="at"/> have dropped so far (zero when there are none).</summary>
    public async Task<DroppedPackets> DroppedAsync(FaultEndpoint at)
    {
        string table = await InNamespaceAsync(at, "iptables", "-w", "-L", "INPUT", "-v", "-x", "-n");
        long udp = 0, tcp = 0, other = 0;
        // Columns: pkts bytes target prot opt in out source destination (two header lines first).
        foreach (string[] columns in table.Split('\n').Skip(2).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(c => c.Length >= 4 && c[2] == "DROP"))
        {
            long packets = long.Parse(columns[0], CultureInfo.InvariantCulture);
            switch (columns[3])
            {
                case "17" or "udp": udp += packets; break;
                case "6" or "tcp": tcp += packets; break;
                default: other += packets; break;
            }
        }

        return new DroppedPackets(udp, tcp, other);
    }

    /// <summary>Whether a TCP connection from inside <paramref name="from"/>'s namespace to <paramref name="address"/>:<paramref name="port"/> is established within 3 s.</summary>
    public async Task<bool> CanConnectTcpAsync(FaultEndpoint from, string address, int port)
    {
        HostCommand.Result result = await HostCommand.RunAsync("nsenter", ["-t", await RequirePidAsync(from), "-n", "timeout", "3", "bash", "-c", $"exec 3<>/dev/tcp/{address}/{port}"], CommandTimeout);
        return result.ExitCode == 0;
    }

    /// <summary>Sends one UDP datagram from inside <paramref name="from"/>'s namespace (a node drops a datagram that is not SWIM and counts it).</summary>
    public async Task SendUdpAsync(FaultEndpoint from, string address, int port) =>
        await InNamespaceAsync(from, "bash", "-c", $"echo stemedb-fault-probe > /dev/udp/{address}/{port}");

    private async Task<string> InNamespaceAsync(FaultEndpoint at, params string[] command) =>
        await HostCommand.RunCheckedAsync("nsenter", ["-t", await RequirePidAsync(at), "-n", .. command], CommandTimeout);

    private async Task<string> RequirePidAsync(FaultEndpoint at) =>
        await PidAsync(at.ContainerId) ?? throw new InvalidOperationException($"{at} is not running: no network namespace to change.");

    private async Task<string?> PidAsync(string containerId)
    {
        try
        {
            ContainerInspectResponse inspect = await docker.Containers.InspectContainerAsync(containerId);
            return inspect.State is { Running: true, Pid: > 0 } state ? state.Pid.ToString(CultureInfo.InvariantCulture) : null;
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }
}
