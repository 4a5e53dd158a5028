using System.Net;
using System.Net.Sockets;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Membership.Transport;
using StemeDb.Testing;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>
/// SWIM over real UDP sockets on loopback, with real time. Timings are shortened (300 ms periods) so the
/// tests run in seconds; they run alone, since a starved CPU makes any failure detector see ghosts.
/// </summary>
[Collection(LoopbackUdpMembership.Name)]
public sealed class UdpSwimTests : IAsyncLifetime
{
    private static readonly byte[] ClusterKey = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
    private readonly List<SwimMembership> _members = [];

    // Checked finely: each wait is only a few probe periods (300 ms) long.
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    private static SwimConfig Config()
    {
        SwimConfig config = SwimConfig.Local();
        config.GossipToTheDeadTime = TimeSpan.FromSeconds(60); // left members stay findable for a whole test
        config.JoinTimeout = TimeSpan.FromSeconds(10); // a join that cannot succeed fails the test quickly
        return config;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (SwimMembership m in _members)
        {
            await m.DisposeAsync();
        }
    }

    private SwimMembership Start(int i, int port = 0, ClusterId cluster = default)
    {
        var transport = new UdpSwimTransport(new IPEndPoint(IPAddress.Loopback, port));
        var member = new SwimMembership(Config(), new LocalMember(new NodeId($"node-{i}"), $"stemedb-node-{i}", $"http://127.0.0.1:{5000 + i}"), transport, new Keyring([ClusterKey]), TimeProvider.System, cluster: cluster);
        member.Start();
        _members.Add(member);
        return member;
    }

    private async Task<List<SwimMembership>> StartCluster(int n)
    {
        SwimMembership seed = Start(0);
        var all = new List<SwimMembership> { seed };
        for (int i = 1; i < n; i++)
        {
            SwimMembership m = Start(i);
            await m.JoinAsync([seed.Self.SwimAddress]);
            all.Add(m);
        }

        await Poll.UntilAsync(() => all.All(m => m.ActiveMembers.Count == n), TimeSpan.FromSeconds(15), "everyone sees everyone", step: Step);
        return all;
    }

    [Fact]
    public async Task A_member_of_another_cluster_is_refused_although_it_holds_the_key()
    {
        ClusterId ours = ClusterId.FromGenesis("stemedb", 4096, [new NodeId("node-0"), new NodeId("node-1")]);
        ClusterId theirs = ClusterId.FromGenesis("stemedb", 4096, [new NodeId("node-9")]);
        SwimMembership seed = Start(0, cluster: ours);
        SwimMembership friend = Start(1, cluster: ours);
        await friend.JoinAsync([seed.Self.SwimAddress]);
        SwimMembership stranger = Start(9, cluster: theirs);

        // The same key, the seed's address: the join gets no answer, and the seed counts what it dropped.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stranger.JoinAsync([seed.Self.SwimAddress], new CancellationTokenSource(TimeSpan.FromSeconds(3)).Token));
        Assert.True(seed.Stats.DroppedForeignCluster > 0);
        Assert.Equal(2, seed.ActiveMembers.Count);
        Assert.DoesNotContain(seed.Members, m => m.Id == stranger.LocalId);
        Assert.Single(stranger.ActiveMembers);
    }

    [Fact]
    public async Task Five_members_join_through_one_seed()
    {
        List<SwimMembership> all = await StartCluster(5);
        foreach (SwimMembership m in all)
        {
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"node-{i}").Order(), m.ActiveMembers.Select(n => n.Id.Value).Order());
            Assert.All(m.Members, n => Assert.Equal(NodeState.Alive, n.State));
            // The metadata the apps need travels with membership.
            NodeInfo three = m.Find(new NodeId("node-3"))!;
            Assert.Equal("stemedb-node-3", three.AppId);
            Assert.Equal("http://127.0.0.1:5003", three.HttpAddress);
        }
    }

    [Fact]
    public async Task A_member_killed_without_leaving_is_marked_dead_by_all_others()
    {
        List<SwimMembership> all = await StartCluster(5);
        SwimMembership victim = all[3];
        await victim.DisposeAsync(); // its socket closes: no goodbye, like kill -9
        SwimMembership[] rest = [.. all.Where(m => m != victim)];
        await Poll.UntilAsync(() => rest.All(m => m.Find(victim.LocalId)?.State == NodeState.Dead), TimeSpan.FromSeconds(20), "all mark node-3 dead", step: Step);
        Assert.All(rest, m => Assert.Equal(4, m.ActiveMembers.Count));
    }

    [Fact]
    public async Task A_graceful_leave_shows_left_never_dead()
    {
        List<SwimMembership> all = await StartCluster(5);
        var deaths = new List<MembershipEvent>();
        foreach (SwimMembership m in all)
        {
            m.Changed += e =>
            {
                lock (deaths)
                {
                    deaths.Add(e);
                }
            };
        }

        SwimMembership leaver = all[2];
        await leaver.LeaveAsync(TimeSpan.FromSeconds(5));
        SwimMembership[] rest = [.. all.Where(m => m != leaver)];
        await Poll.UntilAsync(() => rest.All(m => m.Find(leaver.LocalId)?.State == NodeState.Left), TimeSpan.FromSeconds(10), "all mark node-2 left", step: Step);
        await Task.Delay(TimeSpan.FromSeconds(3)); // and it stays left: nobody later calls it dead
        Assert.All(rest, m => Assert.Equal(NodeState.Left, m.Find(leaver.LocalId)?.State));
        lock (deaths)
        {
            Assert.DoesNotContain(deaths, e => e.Member.Id == leaver.LocalId && e.Kind == MembershipEventKind.Dead);
        }
    }

    [Fact]
    public async Task A_member_restarted_with_the_same_id_rejoins_with_a_higher_incarnation()
    {
        List<SwimMembership> all = await StartCluster(5);
        SwimMembership old = all[4];
        uint before = old.Self.Incarnation;
        int port = old.Self.SwimAddress.Port;
        await old.DisposeAsync();
        SwimMembership[] rest = [.. all.Take(4)];
        await Poll.UntilAsync(() => rest.All(m => m.Find(old.LocalId)?.State == NodeState.Dead), TimeSpan.FromSeconds(20), "all mark node-4 dead", step: Step);

        SwimMembership again = Start(4, port);
        await again.JoinAsync([all[0].Self.SwimAddress]);
        await Poll.UntilAsync(() => rest.All(m => m.Find(again.LocalId)?.State == NodeState.Alive), TimeSpan.FromSeconds(15), "node-4 alive everywhere", step: Step);
        Assert.True(again.Self.Incarnation > before);
        Assert.All(rest, m => Assert.Equal(again.Self.Incarnation, m.Find(again.LocalId)!.Incarnation));
    }

    [Fact]
    public async Task A_suspect_that_is_alive_refutes_in_time()
    {
        List<SwimMembership> all = await StartCluster(5);
        SwimMembership accused = all[1];
        uint incarnation = accused.Self.Incarnation;
        var events = new List<MembershipEvent>();
        foreach (SwimMembership m in all)
        {
            m.Changed += e =>
            {
                lock (events)
                {
                    events.Add(e);
                }
            };
        }

        // A false accusation, as a slow member would make it, injected at node-0.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        byte[] datagram = SwimCodec.EncodeDatagram(new Keyring([ClusterKey]), new SuspectMessage(accused.LocalId, incarnation, new NodeId("node-9")));
        socket.SendTo(datagram, all[0].Self.SwimAddress);

        await Poll.UntilAsync(() => all.All(m => m.Find(accused.LocalId)!.Incarnation > incarnation && m.Find(accused.LocalId)!.State == NodeState.Alive), TimeSpan.FromSeconds(10), "the refutation reached everyone", step: Step);
        Assert.True(accused.Stats.Refutations >= 1);
        await Task.Delay(TimeSpan.FromSeconds(2));
        lock (events)
        {
            Assert.DoesNotContain(events, e => e.Member.Id == accused.LocalId && e.Kind == MembershipEventKind.Dead);
        }
    }

    [Fact]
    public async Task Datagrams_signed_with_an_unknown_key_are_dropped_and_counted()
    {
        SwimMembership member = Start(0);
        using Socket socket = ClientSocket(500);
        var stranger = new Keyring([Enumerable.Repeat((byte)7, 32).ToArray()]);
        for (int i = 0; i < 10; i++)
        {
            socket.SendTo(SwimCodec.EncodeDatagram(stranger, new Ping((uint)i, member.LocalId, new NodeId("intruder"))), member.Self.SwimAddress);
        }

        await Poll.UntilAsync(() => member.Stats.DroppedUnauthenticated == 10, TimeSpan.FromSeconds(5), "10 datagrams refused", step: Step);
        byte[] buffer = new byte[2048];
        Assert.Throws<SocketException>(() => socket.Receive(buffer)); // no ack for an unauthenticated ping

        // With the cluster key, the same ping is answered.
        AssertPingAnswered(socket, member, 99);
    }

    private static Socket ClientSocket(int receiveTimeoutMs)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.ReceiveTimeout = receiveTimeoutMs;
        return socket;
    }

    private static void AssertPingAnswered(Socket socket, SwimMembership member, uint sequence)
    {
        socket.SendTo(SwimCodec.EncodeDatagram(new Keyring([ClusterKey]), new Ping(sequence, member.LocalId, new NodeId("friend"))), member.Self.SwimAddress);
        byte[] buffer = new byte[2048];
        int read = socket.Receive(buffer);
        var decoded = new List<SwimMessage>();
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(buffer.AsSpan(0, read), new Keyring([ClusterKey]), decoded));
        Assert.Equal(new Ack(sequence), decoded[0]);
    }

    [Fact]
    public async Task A_hundred_thousand_garbage_datagrams_neither_crash_nor_stall_the_receive_loop()
    {
        SwimMembership member = Start(0);
        using Socket socket = ClientSocket(2000);
        var random = new Random(7);
        byte[] valid = SwimCodec.EncodeDatagram(new Keyring([ClusterKey]), new Ping(1, member.LocalId, new NodeId("x")));
        for (int i = 0; i < 100_000; i++)
        {
            byte[] junk = (i % 3) switch
            {
                0 => new byte[random.Next(0, 1500)],
                1 => valid[..random.Next(0, valid.Length)],
                _ => new byte[random.Next(1400, 9000)],
            };
            if (i % 3 != 1)
            {
                random.NextBytes(junk);
            }

            socket.SendTo(junk, member.Self.SwimAddress);
            if (i % 2000 == 0)
            {
                await Task.Yield(); // bounded pace: the kernel buffer, not the protocol, would drop the rest
            }
        }

        // Still alive and answering.
        await Poll.UntilAsync(() => member.Stats.DroppedMalformed + member.Stats.DroppedUnauthenticated > 50_000, TimeSpan.FromSeconds(30), "most garbage was seen and dropped", step: Step);
        AssertPingAnswered(socket, member, 4242);
    }
}
