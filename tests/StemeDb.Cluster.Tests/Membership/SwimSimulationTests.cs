using StemeDb.Cluster.Membership;
using StemeDb.Membership.Simulation;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>SWIM on the in-memory network with virtual time: the protocol's properties, replayable by seed.</summary>
public class SwimSimulationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void With_no_faults_everyone_sees_everyone_alive_and_nobody_is_ever_declared_dead(int seed)
    {
        var cluster = SimulatedSwimCluster.ForTests(seed);
        cluster.Start(8);
        TimeSpan? converged = cluster.AdvanceUntil(() => cluster.Members.All(m => m.ActiveMembers.Count == 8), TimeSpan.FromSeconds(30));
        Assert.NotNull(converged);

        cluster.Advance(TimeSpan.FromMinutes(3));
        Assert.DoesNotContain(cluster.Events, e => e.Kind is MembershipEventKind.Dead or MembershipEventKind.Suspect);
        Assert.All(cluster.Members, m => Assert.All(m.Members, n => Assert.Equal(NodeState.Alive, n.State)));
        Assert.All(cluster.Members, m => Assert.Equal(0, m.Stats.DeathsDeclared));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void After_a_crash_every_live_member_eventually_marks_it_dead(int seed, bool lifeguard)
    {
        var cluster = SimulatedSwimCluster.ForTests(seed, lifeguard);
        cluster.Start(8);
        cluster.Advance(TimeSpan.FromSeconds(10));
        cluster.Network.Host(SimulatedSwimCluster.AddressOf(5)).Crash();

        SwimMembership[] live = [.. cluster.Members.Where((_, i) => i != 5)];
        TimeSpan? detected = cluster.AdvanceUntil(() => live.All(m => cluster.StateAt(m, 5) == NodeState.Dead), TimeSpan.FromSeconds(60));
        Assert.NotNull(detected);
        Assert.True(detected < TimeSpan.FromSeconds(15), $"took {detected}");
        // Nobody else was taken for dead on the way.
        Assert.All(live, m => Assert.All(m.Members.Where(n => n.Id != SimulatedSwimCluster.IdOf(5)), n => Assert.Equal(NodeState.Alive, n.State)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void After_a_partition_heals_the_views_converge(int seed)
    {
        var cluster = SimulatedSwimCluster.ForTests(seed);
        cluster.Start(8);
        cluster.Advance(TimeSpan.FromSeconds(10));

        cluster.Network.Partition(Enumerable.Range(0, 3).Select(SimulatedSwimCluster.AddressOf));
        // Each side declares the other dead.
        Assert.NotNull(cluster.AdvanceUntil(() => cluster.StateAt(cluster.Members[0], 7) == NodeState.Dead && cluster.StateAt(cluster.Members[7], 0) == NodeState.Dead, TimeSpan.FromSeconds(60)));

        cluster.Network.Heal();
        // Dead members are not probed: push-pull (and refutation of what it carries) brings them back.
        TimeSpan? healed = cluster.AdvanceUntil(
            () => cluster.Members.All(m => m.Members.Count(n => n.State == NodeState.Alive) == 8),
            TimeSpan.FromMinutes(3));
        Assert.NotNull(healed);
    }

    [Fact]
    public void A_graceful_leave_shows_left_never_dead()
    {
        var cluster = SimulatedSwimCluster.ForTests(7);
        cluster.Start(6);
        cluster.Advance(TimeSpan.FromSeconds(10));

        Task leave = cluster.Members[2].LeaveAsync(TimeSpan.FromSeconds(5));
        Assert.True(cluster.Complete(leave, TimeSpan.FromSeconds(6)));
        cluster.Advance(TimeSpan.FromSeconds(20));

        foreach (SwimMembership m in cluster.Members.Where((_, i) => i != 2))
        {
            Assert.Equal(NodeState.Left, cluster.StateAt(m, 2));
        }

        Assert.DoesNotContain(cluster.Events, e => e.Member.Id == SimulatedSwimCluster.IdOf(2) && e.Kind == MembershipEventKind.Dead);
        Assert.Contains(cluster.Events, e => e.Member.Id == SimulatedSwimCluster.IdOf(2) && e.Kind == MembershipEventKind.Left);
    }

    [Fact]
    public void The_same_seed_replays_the_same_run()
    {
        static string Run()
        {
            var cluster = SimulatedSwimCluster.ForTests(42);
            cluster.Network.Loss = 0.1;
            cluster.Start(8);
            cluster.Advance(TimeSpan.FromSeconds(5));
            cluster.Network.Host(SimulatedSwimCluster.AddressOf(3)).Crash();
            cluster.Advance(TimeSpan.FromSeconds(30));
            return string.Join("\n", cluster.Events.Select(e => $"{e.At:O} {e.ObservedBy} {e.Kind} {e.Member}"));
        }

        string first = Run();
        Assert.Contains("Dead", first);
        Assert.Equal(first, Run());
    }

    [Fact]
    public void Metadata_that_would_not_fit_a_datagram_is_refused()
    {
        var cluster = SimulatedSwimCluster.ForTests(9);
        SwimMembership member = cluster.Add(0);
        var big = System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(
            StringComparer.Ordinal,
            Enumerable.Range(0, 8).Select(i => KeyValuePair.Create($"key-{i}", new string('v', 200))));
        var error = Assert.Throws<ArgumentException>(() => member.UpdateMetadata(big));
        Assert.Contains("fit", error.Message);
        Assert.Empty(member.Self.Metadata); // unchanged
    }

    [Fact]
    public void A_single_broken_link_kills_nobody_because_indirect_probes_go_around_it()
    {
        // Checked to fail with IndirectChecks = 0: then the two ends declare each other dead.
        var cluster = SimulatedSwimCluster.ForTests(21);
        cluster.Start(8);
        cluster.Advance(TimeSpan.FromSeconds(5));
        cluster.Network.SetLinkLoss(SimulatedSwimCluster.AddressOf(1), SimulatedSwimCluster.AddressOf(2), 1.0);
        cluster.Network.SetLinkLoss(SimulatedSwimCluster.AddressOf(2), SimulatedSwimCluster.AddressOf(1), 1.0);
        cluster.Advance(TimeSpan.FromMinutes(2));
        Assert.DoesNotContain(cluster.Events, e => e.Kind == MembershipEventKind.Dead);
        Assert.All(cluster.Members, m => Assert.Equal(8, m.ActiveMemberCount));
    }
}
