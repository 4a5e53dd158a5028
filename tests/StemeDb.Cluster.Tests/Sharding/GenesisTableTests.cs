using System.Collections.Immutable;
using CsCheck;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Tests.Sharding;

/// <summary>A new cluster is pre-split: its genesis table covers every shard once, with leaders and replicas spread evenly.</summary>
public class GenesisTableTests
{
    private static NodeId[] Founders(int n) => [.. Enumerable.Range(1, n).Select(i => new NodeId($"stemedb-node-{i}"))];

    [Fact]
    public void Eight_ranges_per_founder_by_default()
    {
        ImmutableArray<RangeDescriptor> table = GenesisTable.Create(4096, Founders(3), 3, initialRanges: 0);
        Assert.Equal(24, table.Length);
        Assert.Equal(RangeId.Genesis, table[0].Id);
        Assert.Equal(table.Length, table.Select(d => d.Id).Distinct().Count());
        Assert.All(table, d => Assert.Equal(0, d.Generation));
        // Range i is led by founder i mod N and replicated by the ones after it.
        Assert.Equal(["stemedb-node-2", "stemedb-node-3", "stemedb-node-1"], table[1].Replicas.Select(r => r.Value));
    }

    [Fact]
    public void Covers_every_shard_once_with_even_spans_leaders_and_replicas_for_any_size()
    {
        Gen.Select(Gen.Int[1, 9], Gen.Int[1, 5000], Gen.Int[0, 64], Gen.Int[1, 7]).Sample((founders, shards, initial, factor) =>
        {
            NodeId[] nodes = Founders(founders);
            ImmutableArray<RangeDescriptor> table = GenesisTable.Create(shards, nodes, factor, initial);
            int expected = GenesisTable.RangeCount(shards, founders, initial);
            Assert.Equal(expected, table.Length);

            // A table the meta-range accepts covers [0, S) exactly once.
            var meta = new MetaRange(shards, table);
            Assert.Equal(table.Length, meta.Current.Entries.Length);
            Assert.All(meta.Current.Entries, e => Assert.False(e.IsClipped));

            int[] widths = [.. table.Select(d => d.ShardCount)];
            Assert.True(widths.Max() - widths.Min() <= 1, $"spans of {widths.Min()} to {widths.Max()} shards");

            Assert.All(table, d => Assert.Equal(Math.Min(factor, founders), d.Replicas.Length));
            Assert.All(table, d => Assert.Equal(d.Replicas.Length, d.Replicas.Distinct().Count()));
            int[] leads = [.. nodes.Select(n => table.Count(d => d.Replicas[0] == n))];
            int[] holds = [.. nodes.Select(n => table.Count(d => d.Replicas.Contains(n)))];
            Assert.True(leads.Max() - leads.Min() <= 1, $"leaders per founder {string.Join(",", leads)}");
            Assert.True(holds.Max() - holds.Min() <= 1, $"replicas per founder {string.Join(",", holds)}");
        }, iter: 2000);
    }
}
