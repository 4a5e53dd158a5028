using CsCheck;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Tests.Sharding;

/// <summary>The three meta-range invariants (README, "Guarantees"), each over 1000 random histories (see <see cref="MetaRangeHistory"/>).</summary>
public class MetaRangeInvariantTests
{
    private const int Histories = 1000;

    // seed, nodes, steps, probability that an update reaches a node at once.
    private static readonly Gen<(int Seed, int Nodes, int Steps, double Delivery)> HistoryParameters =
        Gen.Select(Gen.Int, Gen.Int[2, 5], Gen.Int[5, 40], Gen.Double[0.1, 1.0]);

    [Fact]
    public void Convergence_the_same_updates_in_any_order_and_any_number_of_times_give_the_same_table()
    {
        int checkedHistories = 0;
        int withConflicts = 0;
        int withClippedEntries = 0;
        HistoryParameters.Sample(
            (seed, nodes, steps, delivery) =>
            {
                MetaRangeHistory history = MetaRangeHistory.Generate(seed, nodes, steps, delivery);
                var random = new Random(seed ^ 0x5eed);
                MetaRange reference = history.NewTable();
                foreach (MetaRangeUpdate update in history.Updates)
                {
                    reference.Apply(update);
                }

                // Permutations with duplicates.
                for (int round = 0; round < 3; round++)
                {
                    List<MetaRangeUpdate> shuffled = [.. history.Updates.SelectMany(u => Enumerable.Repeat(u, random.Next(1, 4))).OrderBy(_ => random.Next())];
                    MetaRange table = history.NewTable();
                    foreach (MetaRangeUpdate update in shuffled)
                    {
                        table.Apply(update);
                    }

                    Assert.Equal<MetaRangeEntry>(reference.Current.Entries, table.Current.Entries);
                }

                // Each node's own view, once the missing updates finally arrive (anti-entropy), in reverse order.
                foreach (List<MetaRangeUpdate> received in history.Deliveries)
                {
                    MetaRange view = history.NewTable();
                    foreach (MetaRangeUpdate update in received.Concat(Enumerable.Reverse(history.Updates)))
                    {
                        view.Apply(update);
                    }

                    Assert.Equal<MetaRangeEntry>(reference.Current.Entries, view.Current.Entries);
                }

                checkedHistories++;
                withConflicts += history.ConflictingProposals > 0 ? 1 : 0;
                withClippedEntries += reference.Current.Entries.Any(e => e.IsClipped) ? 1 : 0;
            },
            iter: Histories,
            threads: 1);

        Assert.Equal(Histories, checkedHistories);
        // The generator must exercise what the rule is for: concurrent conflicting proposals.
        Assert.True(withConflicts > Histories / 2, $"only {withConflicts} histories had conflicting proposals");
        Assert.True(withClippedEntries > Histories / 20, $"only {withClippedEntries} histories ended with a clipped descriptor");
    }

    [Fact]
    public void Partition_the_table_always_covers_every_shard_once_with_no_gap_and_no_overlap()
    {
        int checkedTables = 0;
        HistoryParameters.Sample(
            (seed, nodes, steps, delivery) =>
            {
                MetaRangeHistory history = MetaRangeHistory.Generate(seed, nodes, steps, delivery);
                foreach (List<MetaRangeUpdate> received in history.Deliveries)
                {
                    MetaRange view = history.NewTable();
                    AssertPartition(view.Current, history.ShardCount);
                    foreach (MetaRangeUpdate update in received)
                    {
                        view.Apply(update);
                        AssertPartition(view.Current, history.ShardCount);
                        checkedTables++;
                    }
                }
            },
            iter: Histories,
            threads: 1);

        Assert.True(checkedTables > Histories * 10, $"only {checkedTables} tables were checked");
    }

    [Fact]
    public void Monotonicity_the_generation_holding_a_shard_never_goes_down_at_any_node()
    {
        int decreasesPossible = 0;
        HistoryParameters.Sample(
            (seed, nodes, steps, delivery) =>
            {
                MetaRangeHistory history = MetaRangeHistory.Generate(seed, nodes, steps, delivery);
                foreach (List<MetaRangeUpdate> received in history.Deliveries)
                {
                    MetaRange view = history.NewTable();
                    long[] generation = new long[history.ShardCount];
                    foreach (MetaRangeUpdate update in received)
                    {
                        // Count the updates that would lower some shard's generation if applied blindly,
                        // so the test proves it met the case it guards against.
                        if (update.Descriptors.Any(d => Enumerable.Range(d.StartShard, d.ShardCount).Any(s => d.Generation < generation[s])))
                        {
                            decreasesPossible++;
                        }

                        view.Apply(update);
                        for (int shard = 0; shard < history.ShardCount; shard++)
                        {
                            long now = view.Current.Find(shard).Descriptor.Generation;
                            Assert.True(now >= generation[shard], $"shard {shard} went from generation {generation[shard]} to {now}");
                            generation[shard] = now;
                        }
                    }
                }
            },
            iter: Histories,
            threads: 1);

        Assert.True(decreasesPossible > Histories / 10, $"only {decreasesPossible} stale updates were met");
    }

    internal static void AssertPartition(MetaRangeSnapshot snapshot, int shardCount)
    {
        Assert.Equal(shardCount, snapshot.ShardCount);
        Assert.NotEmpty(snapshot.Entries);
        Assert.Equal(0, snapshot.Entries[0].StartShard);
        Assert.Equal(shardCount, snapshot.Entries[^1].EndShard);
        for (int i = 0; i < snapshot.Entries.Length; i++)
        {
            MetaRangeEntry entry = snapshot.Entries[i];
            Assert.True(entry.StartShard < entry.EndShard, $"empty entry {entry}");
            Assert.True(entry.Descriptor.StartShard <= entry.StartShard && entry.EndShard <= entry.Descriptor.EndShard, $"{entry} lies outside its descriptor");
            if (i > 0)
            {
                Assert.Equal(snapshot.Entries[i - 1].EndShard, entry.StartShard);
                Assert.NotSame(snapshot.Entries[i - 1].Descriptor, entry.Descriptor);
            }
        }

        for (int shard = 0; shard < shardCount; shard++)
        {
            Assert.True(snapshot.Find(shard).Contains(shard), $"shard {shard} maps to {snapshot.Find(shard)}");
        }
    }
}
