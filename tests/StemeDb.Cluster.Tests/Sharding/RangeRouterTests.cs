using CsCheck;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Hashing;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class RangeRouterTests
{
    [Fact]
    public void Agrees_with_a_brute_force_model_over_random_tables_dead_sets_and_subjects()
    {
        int routes = 0;
        Gen.Select(Gen.Int, Gen.Int[2, 5], Gen.Int[0, 40]).Sample(
            (seed, nodes, steps) =>
            {
                MetaRangeHistory history = MetaRangeHistory.Generate(seed, nodes, steps, 1.0);
                MetaRange table = history.NewTable();
                foreach (MetaRangeUpdate update in history.Updates)
                {
                    table.Apply(update);
                }

                var router = new RangeRouter(table);
                var random = new Random(seed);
                var dead = new HashSet<NodeId>();
                for (int i = 1; i <= nodes; i++)
                {
                    if (random.NextDouble() < 0.3)
                    {
                        dead.Add(N(i));
                        router.MarkDead(N(i));
                    }
                }

                MetaRangeEntry[] entries = [.. table.Current.Entries];
                for (int i = 0; i < 50; i++)
                {
                    string subject = $"subject-{random.Next()}-\u00e9\u4e16";
                    // The model: hash, jump, then a linear scan of the entries.
                    int shard = JumpHash.Hash(SubjectHasher.Hash(subject), history.ShardCount);
                    MetaRangeEntry expected = entries.Single(e => e.StartShard <= shard && shard < e.EndShard);
                    NodeId[] live = [.. expected.Descriptor.Replicas.Where(n => !dead.Contains(n))];

                    RangeRoute route = router.Route(subject);
                    Assert.Equal(shard, route.Shard);
                    Assert.Equal(expected, route.Entry);
                    Assert.Equal(live, route.LiveReplicas.ToArray());
                    if (live.Length > 0)
                    {
                        Assert.Equal(live[0], route.Leader);
                    }
                    else
                    {
                        Assert.Throws<NoLiveReplicaException>(() => router.Route(subject).Leader);
                    }

                    routes++;
                }
            },
            iter: 300,
            threads: 1);

        Assert.Equal(300 * 50, routes);
    }

    [Fact]
    public void After_a_node_is_marked_dead_no_route_leads_to_it_and_the_next_live_replica_leads()
    {
        MetaRange table = Table(64, 1, 2, 3);
        table.Apply(new MetaRangeUpdate(D(1, 0, 32, 1, replicas: [1, 2, 3]), D(2, 32, 64, 1, replicas: [2, 3, 1])));
        var router = new RangeRouter(table);
        string[] subjects = [.. Enumerable.Range(0, 500).Select(i => $"s{i}")];
        Assert.Contains(subjects, s => router.Route(s).Leader == N(1));

        Assert.True(router.MarkDead(N(1)));
        foreach (string subject in subjects)
        {
            RangeRoute route = router.Route(subject);
            Assert.DoesNotContain(N(1), route.LiveReplicas.ToArray());
            Assert.Equal(N(2), route.Leader); // replicas [1,2,3] and [2,3,1]: node-2 is next in both
        }

        router.MarkDead(N(2));
        Assert.All(subjects, s => Assert.Equal(N(3), router.Route(s).Leader));

        router.MarkDead(N(3));
        var error = Assert.Throws<NoLiveReplicaException>(() => router.Route("s1").Leader);
        Assert.Contains("none of them alive", error.Message);

        Assert.True(router.MarkAlive(N(1)));
        Assert.All(subjects, s => Assert.Equal(N(1), router.Route(s).Leader));
    }

    [Fact]
    public void The_descriptors_of_a_misdirected_answer_refresh_the_cache()
    {
        // The gateway's cache is one table; the node's is ahead by a split and a replica move.
        MetaRange cache = Table(64, 1, 2, 3);
        var router = new RangeRouter(cache);
        MetaRange nodeTable = Table(64, 1, 2, 3);
        nodeTable.Apply(new MetaRangeUpdate(D(1, 0, 20, 1, replicas: [1, 2, 3]), D(2, 20, 64, 1, replicas: [1, 2, 3])));
        nodeTable.Apply(D(2, 20, 64, 2, replicas: [4, 2, 3]));

        string subject = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(s => router.Route(s).Shard >= 20);
        Assert.Equal(N(1), router.Route(subject).Leader);

        // The body of a 421 from the node: the descriptors it holds over the span asked about.
        RangeDescriptor[] misdirected = [.. nodeTable.Current.DescriptorsOverlapping(0, 64)];
        Assert.True(router.Apply(misdirected));
        Assert.Equal(N(4), router.Route(subject).Leader);
        Assert.Equal(2, router.Route(subject).Descriptor.Generation);
        Assert.False(router.Apply(misdirected)); // already known: nothing to do
    }

    [Fact]
    public void Invalid_subjects_are_refused_before_routing()
    {
        var router = new RangeRouter(Table(16));
        Assert.Throws<InvalidSubjectException>(() => router.Route(""));
        Assert.Throws<InvalidSubjectException>(() => router.Route(new string('a', 1025)));
        Assert.Throws<InvalidSubjectException>(() => router.Route(new byte[] { 0xff }));
        // Not ASCII, so encoded: a lone surrogate, and 513 chars that are 1026 bytes of UTF-8.
        Assert.Throws<InvalidSubjectException>(() => router.Route("bad\uD800subject"));
        Assert.Throws<InvalidSubjectException>(() => router.Route(new string('\u00e9', 513)));
    }

    [Fact]
    public void String_and_UTF8_routes_agree()
    {
        var router = new RangeRouter(Table(4096));
        // ASCII subjects are hashed from their chars, the others from their encoding.
        foreach (string subject in new[] { "a", "user:42", "caf\u00e9", "\U0001F980", new string('x', 1024), new string('\u00e9', 512) })
        {
            Assert.Equal(router.Route(subject).Shard, router.Route(System.Text.Encoding.UTF8.GetBytes(subject)).Shard);
            Assert.Equal(ShardId.ForSubject(subject, 4096).Value, router.Route(subject).Shard);
        }
    }
}
