using System.Collections.Immutable;
using System.Net;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;

namespace StemeDb.Membership.Simulation;

/// <summary>N SWIM members on the in-memory network, in virtual time, with what the scenarios measure.</summary>
public sealed class SimulatedSwimCluster
{
    private static readonly Keyring ClusterKey = new([Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()]);
    private readonly Random _random;
    private readonly HashSet<int> _crashed = [];

    public SimulatedSwimCluster(int nodes, int seed, bool lifeguard)
    {
        _random = new Random(seed);
        Scheduler = new VirtualTimeScheduler(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        Network = new InMemoryNetwork(Scheduler, seed);
        var config = new SwimConfig { Lifeguard = lifeguard };
        for (int i = 0; i < nodes; i++)
        {
            InMemoryNetwork.SimulatedHost host = Network.AddHost(AddressOf(i));
            var local = new LocalMember(
                new NodeId($"stemedb-node-{i}"),
                $"stemedb-node-{i}",
                $"http://10.{i >> 8}.{i & 0xFF}.10:5000", // only metadata: realistic length, never dialled
                ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal));
            var member = new SwimMembership(config, local, host, ClusterKey, host.Clock, new Random(unchecked((seed * 7919) + i)));
            int index = i;
            member.Changed += e => OnEvent(index, e);
            Members.Add(member);
            Hosts.Add(host);
        }
    }

    public VirtualTimeScheduler Scheduler { get; }

    public InMemoryNetwork Network { get; }

    public List<SwimMembership> Members { get; } = [];

    public List<InMemoryNetwork.SimulatedHost> Hosts { get; } = [];

    /// <summary>When each observer first saw each member dead (member index → observer index → elapsed).</summary>
    public Dictionary<int, Dictionary<int, TimeSpan>> DeadSeen { get; } = [];

    /// <summary>Distinct deaths (member, incarnation) of members that had not crashed.</summary>
    public HashSet<(int Member, uint Incarnation)> FalseDeaths { get; } = [];

    /// <summary>Members that are paused now and then; their deaths are counted apart from the healthy ones'.</summary>
    public HashSet<int> Slow { get; } = [];

    public int Count => Members.Count;

    public static IPEndPoint AddressOf(int i) => new(new IPAddress([127, 2, (byte)(i >> 8), (byte)(i & 0xFF)]), 7946);

    public static int IndexOf(NodeId id) => int.Parse(id.Value.AsSpan("stemedb-node-".Length), System.Globalization.CultureInfo.InvariantCulture);

    public bool IsCrashed(int i) => _crashed.Contains(i);

    /// <summary>Starts every member, each joining through a random earlier one, then waits until all see all.</summary>
    public bool Bootstrap(TimeSpan limit)
    {
        Members[0].Start();
        for (int i = 1; i < Count; i++)
        {
            Members[i].Start();
            Members[i].StartJoin([AddressOf(_random.Next(i))]);
            Scheduler.RunUntil(Scheduler.Elapsed + TimeSpan.FromMilliseconds(20));
        }

        return Scheduler.RunUntil(() => Members.All(m => m.ActiveMemberCount == Count), limit, TimeSpan.FromSeconds(1));
    }

    public void Crash(int i)
    {
        _crashed.Add(i);
        Hosts[i].Crash();
    }

    public long TotalBytesSent => Hosts.Sum(h => h.BytesSent);

    public int LargestDatagram => Hosts.Max(h => h.LargestDatagram);

    public int PickLive() => Enumerable.Range(0, Count).Where(i => !_crashed.Contains(i) && !Slow.Contains(i)).OrderBy(_ => _random.Next()).First();

    public Random Random => _random;

    private void OnEvent(int observer, MembershipEvent e)
    {
        if (e.Kind != MembershipEventKind.Dead)
        {
            return;
        }

        int member = IndexOf(e.Member.Id);
        if (!DeadSeen.TryGetValue(member, out Dictionary<int, TimeSpan>? seen))
        {
            DeadSeen[member] = seen = [];
        }

        seen.TryAdd(observer, Scheduler.Elapsed);
        if (!_crashed.Contains(member))
        {
            FalseDeaths.Add((member, e.Member.Incarnation));
        }
    }
}
