using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Sharding;

/// <summary>
/// A random history of a small cluster changing its ranges: nodes propose splits, merges and replica
/// changes on their own (often stale) views, updates reach other nodes late, out of order, twice or not
/// at all, and pairs of nodes propose conflicting changes to the same range at the same moment.
/// </summary>
internal sealed class MetaRangeHistory
{
    private MetaRangeHistory(int shardCount, RangeDescriptor genesis, List<MetaRangeUpdate> updates, List<List<MetaRangeUpdate>> deliveries, int conflicts)
    {
        ShardCount = shardCount;
        Genesis = genesis;
        Updates = updates;
        Deliveries = deliveries;
        ConflictingProposals = conflicts;
    }

    public int ShardCount { get; }

    public RangeDescriptor Genesis { get; }

    /// <summary>Every update proposed, in proposal order.</summary>
    public List<MetaRangeUpdate> Updates { get; }

    /// <summary>For each node, the updates in the order it received them (its own, others' late, duplicates); some are missing.</summary>
    public List<List<MetaRangeUpdate>> Deliveries { get; }

    /// <summary>How many proposals were made concurrently with another one on the same range.</summary>
    public int ConflictingProposals { get; }

    public MetaRange NewTable() => new(ShardCount, Genesis);

    public static MetaRangeHistory Generate(int seed, int nodeCount, int steps, double deliveryProbability, int shardCount = 48)
    {
        var random = new Random(seed);
        NodeId[] nodes = [.. Enumerable.Range(1, nodeCount).Select(i => new NodeId($"node-{i}"))];
        RangeDescriptor genesis = MetaRange.GenesisDescriptor(shardCount, nodes.Take(Math.Min(3, nodeCount)), nodes[0]);
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var clocks = nodes.Select(_ => new HybridLogicalClock(time, TimeSpan.FromDays(1))).ToArray();
        var views = nodes.Select(_ => new MetaRange(shardCount, genesis)).ToArray();
        var deliveries = nodes.Select(_ => new List<MetaRangeUpdate>()).ToList();
        var inFlight = nodes.Select(_ => new List<MetaRangeUpdate>()).ToArray();
        var updates = new List<MetaRangeUpdate>();
        int conflicts = 0;

        void Deliver(int node, MetaRangeUpdate update)
        {
            views[node].Apply(update);
            deliveries[node].Add(update);
            foreach (RangeDescriptor d in update.Descriptors)
            {
                clocks[node].Update(d.Timestamp);
            }
        }

        void Publish(int proposer, MetaRangeUpdate update)
        {
            updates.Add(update);
            Deliver(proposer, update);
            for (int other = 0; other < nodes.Length; other++)
            {
                if (other == proposer)
                {
                    continue;
                }

                double roll = random.NextDouble();
                if (roll < deliveryProbability)
                {
                    Deliver(other, update);
                }
                else if (roll < deliveryProbability + ((1 - deliveryProbability) * 0.7))
                {
                    inFlight[other].Add(update); // late, in random order
                }

                // else: lost (anti-entropy would repair it; the convergence check replays everything)
            }
        }

        for (int step = 0; step < steps; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 4)));
            int proposer = random.Next(nodes.Length);
            if (nodes.Length > 1 && random.NextDouble() < 0.25)
            {
                // Two nodes act on the same range of the same view at once: a conflict.
                int rival = (proposer + 1 + random.Next(nodes.Length - 1)) % nodes.Length;
                MetaRangeSnapshot view = views[proposer].Current;
                int entry = random.Next(view.Entries.Length);
                MetaRangeUpdate first = Propose(random, view, entry, nodes, nodes[proposer], clocks[proposer].Now());
                MetaRangeUpdate second = Propose(random, view, entry, nodes, nodes[rival], clocks[rival].Now());
                conflicts++;
                Publish(proposer, first);
                Publish(rival, second);
            }
            else
            {
                MetaRangeSnapshot view = views[proposer].Current;
                Publish(proposer, Propose(random, view, random.Next(view.Entries.Length), nodes, nodes[proposer], clocks[proposer].Now()));
            }

            // Some late messages arrive, in any order, sometimes twice.
            for (int node = 0; node < nodes.Length; node++)
            {
                while (inFlight[node].Count > 0 && random.NextDouble() < 0.4)
                {
                    int pick = random.Next(inFlight[node].Count);
                    MetaRangeUpdate late = inFlight[node][pick];
                    if (random.NextDouble() < 0.8)
                    {
                        inFlight[node].RemoveAt(pick);
                    }

                    Deliver(node, late);
                }
            }
        }

        return new MetaRangeHistory(shardCount, genesis, updates, deliveries, conflicts);
    }

    private static MetaRangeUpdate Propose(Random random, MetaRangeSnapshot view, int index, NodeId[] nodes, NodeId proposer, HlcTimestamp now)
    {
        MetaRangeEntry entry = view.Entries[index];
        RangeDescriptor d = entry.Descriptor;
        long gen = d.Generation + 1;
        switch (random.Next(3))
        {
            case 0 when entry.ShardCount >= 2:
            {
                int at = random.Next(entry.StartShard + 1, entry.EndShard);
                return new MetaRangeUpdate(
                    new RangeDescriptor(d.Id, entry.StartShard, at, d.Replicas, gen, now, proposer),
                    new RangeDescriptor(RangeId.Derive(d.Id, gen, at), at, entry.EndShard, d.Replicas, gen, now, proposer));
            }

            case 1 when index + 1 < view.Entries.Length:
            {
                MetaRangeEntry right = view.Entries[index + 1];
                long merged = Math.Max(gen, right.Descriptor.Generation + 1);
                return new MetaRangeUpdate(new RangeDescriptor(d.Id, entry.StartShard, right.EndShard, d.Replicas, merged, now, proposer));
            }

            default:
            {
                ImmutableArray<NodeId> replicas = [.. nodes.OrderBy(_ => random.Next()).Take(random.Next(1, Math.Min(3, nodes.Length) + 1))];
                return new MetaRangeUpdate(new RangeDescriptor(d.Id, entry.StartShard, entry.EndShard, replicas, gen, now, proposer));
            }
        }
    }
}
