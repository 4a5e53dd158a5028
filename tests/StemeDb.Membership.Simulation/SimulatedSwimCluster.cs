using System.Net;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;

namespace StemeDb.Membership.Simulation;

/// <summary>
/// SWIM members on the in-memory network in virtual time, with what the scenarios measure: the one harness
/// of the simulator's scenarios (<see cref="ForScenarios"/>) and of the SWIM simulation tests
/// (<see cref="ForTests"/>). Member i is <see cref="Members"/>[i] on <see cref="Hosts"/>[i] at
/// <see cref="AddressOf"/>(i). Deterministic per seed: clock, network and every member's randomness are.
/// </summary>
public sealed class SimulatedSwimCluster
{
    private static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly Keyring _keyring = new([Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()]);
    private readonly IVirtualClock _clock;
    private readonly SwimConfig _config;
    private readonly Func<int, Random> _memberRandom;
    private readonly List<MembershipEvent>? _events;
    private readonly HashSet<int> _crashed = [];

    private SimulatedSwimCluster(IVirtualClock clock, int seed, SwimConfig config, Func<int, Random> memberRandom, bool keepEvents)
    {
        _clock = clock;
        _config = config;
        _memberRandom = memberRandom;
        _events = keepEvents ? [] : null;
        Random = new Random(seed);
        Network = new InMemoryNetwork(clock.Provider, seed);
    }

    /// <summary>
    /// The simulator's cluster: <paramref name="nodes"/> members created, not started (<see cref="Bootstrap"/>
    /// starts them), on a <see cref="VirtualTimeScheduler"/>, which a thousand members need.
    /// </summary>
    public static SimulatedSwimCluster ForScenarios(int nodes, int seed, bool lifeguard)
    {
        var cluster = new SimulatedSwimCluster(
            new VirtualTimeScheduler(Epoch),
            seed,
            new SwimConfig { Lifeguard = lifeguard },
            i => new Random(unchecked((seed * 7919) + i)),
            keepEvents: false); // N² join events at N = 1000
        for (int i = 0; i < nodes; i++)
        {
            cluster.Create(i);
        }

        return cluster;
    }

    /// <summary>
    /// The SWIM tests' cluster: empty (<see cref="Start"/> and <see cref="Add"/> fill it), every event kept
    /// in <see cref="Events"/>. Its clock (FakeTimeProvider in 10 ms steps) and member seeds are the ones the
    /// tests' seeds and bounds were checked with; <paramref name="config"/> gets <paramref name="lifeguard"/>.
    /// </summary>
    public static SimulatedSwimCluster ForTests(int seed, bool lifeguard = true, SwimConfig? config = null)
    {
        config ??= new SwimConfig();
        config.Lifeguard = lifeguard;
        return new SimulatedSwimCluster(
            new SteppedFakeClock(Epoch, TimeSpan.FromMilliseconds(10)),
            seed,
            config,
            i => new Random((seed * 1000) + i),
            keepEvents: true);
    }

    public InMemoryNetwork Network { get; }

    public List<SwimMembership> Members { get; } = [];

    public List<InMemoryNetwork.SimulatedHost> Hosts { get; } = [];

    /// <summary>Every event every member raised, in order; kept only by <see cref="ForTests"/> clusters.</summary>
    public IReadOnlyList<MembershipEvent> Events => _events ?? throw new InvalidOperationException("This cluster keeps no events.");

    /// <summary>When each observer first saw each member dead (member index → observer index → elapsed).</summary>
    public Dictionary<int, Dictionary<int, TimeSpan>> DeadSeen { get; } = [];

    /// <summary>Distinct deaths (member, incarnation) of members that had not crashed through <see cref="Crash"/>.</summary>
    public HashSet<(int Member, uint Incarnation)> FalseDeaths { get; } = [];

    /// <summary>Members that are paused now and then; their deaths are counted apart from the healthy ones'.</summary>
    public HashSet<int> Slow { get; } = [];

    /// <summary>The harness's own randomness (join seeds, victims, slow members), apart from the members'.</summary>
    public Random Random { get; }

    public int Count => Members.Count;

    public TimeSpan Elapsed => _clock.Elapsed;

    public long TotalBytesSent => Hosts.Sum(h => h.BytesSent);

    public int LargestDatagram => Hosts.Max(h => h.LargestDatagram);

    public static IPEndPoint AddressOf(int i) => new(new IPAddress([127, 2, (byte)(i >> 8), (byte)(i & 0xFF)]), 7946);

    public static NodeId IdOf(int i) => new($"stemedb-node-{i}");

    public static int IndexOf(NodeId id) => int.Parse(id.Value.AsSpan("stemedb-node-".Length), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Creates member <paramref name="i"/> on a new host, not started; i must be <see cref="Count"/>.</summary>
    public SwimMembership Create(int i)
    {
        if (i != Count)
        {
            throw new ArgumentOutOfRangeException(nameof(i), i, $"Members are created in order; the next is {Count}.");
        }

        InMemoryNetwork.SimulatedHost host = Network.AddHost(AddressOf(i));
        var local = new LocalMember(
            IdOf(i),
            $"stemedb-node-{i}",
            $"http://10.{i >> 8}.{i & 0xFF}.10:5000"); // only metadata: realistic length, never dialled
        var member = new SwimMembership(_config, local, host, _keyring, host.Clock, _memberRandom(i));
        member.Changed += e => OnEvent(i, e);
        Members.Add(member);
        Hosts.Add(host);
        return member;
    }

    /// <summary>Creates and starts member <paramref name="i"/>, alone until it joins.</summary>
    public SwimMembership Add(int i)
    {
        SwimMembership member = Create(i);
        member.Start();
        return member;
    }

    /// <summary>Adds members 0..n-1, each joining through member 0 before the next is added.</summary>
    public void Start(int n)
    {
        Add(0);
        for (int i = 1; i < n; i++)
        {
            SwimMembership member = Add(i);
            Task join = member.JoinAsync([AddressOf(0)]);
            // Advance by what happens in virtual time only (the seed's state arrived), so a seed replays
            // exactly; then let the join's continuation finish on the thread pool.
            if (AdvanceUntil(() => member.ActiveMembers.Count > 1, TimeSpan.FromSeconds(30)) is null)
            {
                throw new TimeoutException($"{IdOf(i)} heard nothing from {IdOf(0)} in 30 s of virtual time.");
            }

            if (!join.Wait(TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException($"{IdOf(i)} did not join.");
            }
        }
    }

    /// <summary>
    /// Starts the members created up front, each joining through a random earlier one 20 ms after the one
    /// before, then waits until all see all.
    /// </summary>
    public bool Bootstrap(TimeSpan limit)
    {
        Members[0].Start();
        for (int i = 1; i < Count; i++)
        {
            Members[i].Start();
            Members[i].StartJoin([AddressOf(Random.Next(i))]);
            Advance(TimeSpan.FromMilliseconds(20));
        }

        return AdvanceUntil(() => Members.All(m => m.ActiveMemberCount == Count), limit, TimeSpan.FromSeconds(1)) is not null;
    }

    public void Advance(TimeSpan duration) => _clock.Advance(duration);

    /// <summary>
    /// Advances in steps of <paramref name="step"/> (10 ms unless given) until <paramref name="condition"/>
    /// holds, checked before each; returns the virtual time that took, or null once <paramref name="limit"/> passed.
    /// </summary>
    public TimeSpan? AdvanceUntil(Func<bool> condition, TimeSpan limit, TimeSpan? step = null)
    {
        TimeSpan start = Elapsed;
        while (!condition())
        {
            if (Elapsed - start >= limit)
            {
                return null;
            }

            Advance(step ?? TimeSpan.FromMilliseconds(10));
        }

        return Elapsed - start;
    }

    /// <summary>
    /// Advances virtual time until <paramref name="task"/> completes. Its continuations run on the thread
    /// pool, so each step gives them a moment of real time.
    /// </summary>
    public bool Complete(Task task, TimeSpan limit)
    {
        TimeSpan tick = TimeSpan.FromMilliseconds(10);
        for (TimeSpan t = TimeSpan.Zero; t <= limit; t += tick)
        {
            if (task.Wait(TimeSpan.FromMilliseconds(t == TimeSpan.Zero ? 50 : 1)))
            {
                return true;
            }

            Advance(tick);
        }

        return task.Wait(TimeSpan.FromSeconds(5));
    }

    /// <summary>Crash-stops member <paramref name="i"/>; its deaths from now on are not false.</summary>
    public void Crash(int i)
    {
        _crashed.Add(i);
        Hosts[i].Crash();
    }

    public bool IsCrashed(int i) => _crashed.Contains(i);

    public int PickLive() => Enumerable.Range(0, Count).Where(i => !_crashed.Contains(i) && !Slow.Contains(i)).OrderBy(_ => Random.Next()).First();

    public NodeState? StateAt(SwimMembership observer, int node) => observer.Find(IdOf(node))?.State;

    private void OnEvent(int observer, MembershipEvent e)
    {
        _events?.Add(e);
        if (e.Kind != MembershipEventKind.Dead)
        {
            return;
        }

        int member = IndexOf(e.Member.Id);
        if (!DeadSeen.TryGetValue(member, out Dictionary<int, TimeSpan>? seen))
        {
            DeadSeen[member] = seen = [];
        }

        seen.TryAdd(observer, Elapsed);
        if (!_crashed.Contains(member))
        {
            FalseDeaths.Add((member, e.Member.Incarnation));
        }
    }
}
