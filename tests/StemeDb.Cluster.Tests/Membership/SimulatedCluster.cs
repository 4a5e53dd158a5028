using System.Net;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Membership.Simulation;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>A SWIM cluster on the in-memory network, driven by a FakeTimeProvider: deterministic per seed.</summary>
internal sealed class SimulatedCluster
{
    private readonly int _seed;
    private readonly SwimConfig _config;
    private readonly Keyring _keyring = Keyring.FromBase64([Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray())]);

    public SimulatedCluster(int seed, bool lifeguard = true, SwimConfig? config = null)
    {
        _seed = seed;
        _config = config ?? new SwimConfig();
        _config.Lifeguard = lifeguard;
        Time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        Network = new InMemoryNetwork(Time, seed);
    }

    public FakeTimeProvider Time { get; }

    public InMemoryNetwork Network { get; }

    public List<SwimMembership> Members { get; } = [];

    public List<MembershipEvent> Events { get; } = [];

    public static IPEndPoint AddressOf(int i) => new(new IPAddress([127, 1, (byte)(i >> 8), (byte)(i & 0xFF)]), 7946);

    public static NodeId IdOf(int i) => new($"node-{i}");

    public SwimMembership Add(int i)
    {
        InMemoryNetwork.SimulatedHost host = Network.Hosts.FirstOrDefault(h => h.Address.Equals(AddressOf(i))) ?? Network.AddHost(AddressOf(i));
        var member = new SwimMembership(_config, new LocalMember(IdOf(i), $"stemedb-node-{i}", $"http://127.0.0.1:{5000 + i}"), host, _keyring, host.Clock, new Random(_seed * 1000 + i));
        member.Changed += Events.Add;
        member.Start();
        Members.Add(member);
        return member;
    }

    /// <summary>Starts n members; each joins through member 0.</summary>
    public void Start(int n)
    {
        Add(0);
        for (int i = 1; i < n; i++)
        {
            SwimMembership member = Add(i);
            Task join = member.JoinAsync([AddressOf(0)]);
            // Advance by what happens in virtual time only (the seed's state arrived), so a seed replays
            // exactly; then let the join's continuation finish on the thread pool.
            Assert.NotNull(AdvanceUntil(() => member.ActiveMembers.Count > 1, TimeSpan.FromSeconds(30)));
            Assert.True(join.Wait(TimeSpan.FromSeconds(10)), $"node-{i} did not join");
        }
    }

    /// <summary>
    /// Advances virtual time until <paramref name="task"/> completes. Continuations run on the thread pool,
    /// so each step gives them a moment of real time.
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

            Time.Advance(tick);
        }

        return task.Wait(TimeSpan.FromSeconds(5));
    }

    public void Advance(TimeSpan duration, TimeSpan? step = null)
    {
        TimeSpan tick = step ?? TimeSpan.FromMilliseconds(10);
        for (TimeSpan t = TimeSpan.Zero; t < duration; t += tick)
        {
            Time.Advance(tick);
        }
    }

    /// <summary>Advances until <paramref name="condition"/> holds; returns the virtual time it took, or null.</summary>
    public TimeSpan? AdvanceUntil(Func<bool> condition, TimeSpan limit)
    {
        TimeSpan tick = TimeSpan.FromMilliseconds(10);
        for (TimeSpan t = TimeSpan.Zero; t <= limit; t += tick)
        {
            if (condition())
            {
                return t;
            }

            Time.Advance(tick);
        }

        return null;
    }

    public NodeState? StateAt(SwimMembership observer, int node) => observer.Find(IdOf(node))?.State;
}
