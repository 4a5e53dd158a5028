using System.Collections.Immutable;
using BenchmarkDotNet.Attributes;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Benchmarks;

/// <summary>
/// Merging meta-range updates into a table of 100 000 ranges: one change (what a pub/sub delivery brings)
/// and a full snapshot (what the periodic pull from a peer brings), unchanged or all newer.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class MetaRangeMergeBenchmarks
{
    private const int Ranges = 100_000;
    private const int Shards = 131_072;
    private MetaRange _table = null!;
    private List<RangeDescriptor> _snapshot = null!;
    private List<RangeDescriptor> _newer = null!;
    private RangeDescriptor[] _changes = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        NodeId[] nodes = [.. Enumerable.Range(1, 5).Select(i => new NodeId($"stemedb-node-{i}"))];
        _snapshot = Descriptors(nodes, generation: 1, wall: 1);
        _newer = Descriptors(nodes, generation: 2, wall: 2);
        _table = new MetaRange(Shards, MetaRange.GenesisDescriptor(Shards, nodes.Take(3), nodes[0]));
        _table.Apply(_snapshot);

        // Replica changes of single ranges with ever higher generations: each one really changes the table.
        _changes = [.. Enumerable.Range(0, 1 << 16).Select(i =>
        {
            RangeDescriptor d = _snapshot[(i * 7919) % Ranges];
            return new RangeDescriptor(d.Id, d.StartShard, d.EndShard, [.. d.Replicas.Reverse()], 10 + i, new HlcTimestamp(10 + i, 0), nodes[0]);
        })];
    }

    [Benchmark(Description = "apply 1 change to 100k ranges")]
    public bool ApplyOneChange()
    {
        // Past the prepared changes the generation no longer rises and the apply is a no-op; 65 536 covers every run.
        return _table.Apply(_changes[_next++ & 0xFFFF]);
    }

    [Benchmark(Description = "apply unchanged snapshot of 100k")]
    public bool ApplyUnchangedSnapshot() => _table.Apply(_snapshot);

    [IterationSetup(Target = nameof(ApplyNewerSnapshot))]
    public void FreshTable()
    {
        NodeId[] nodes = [.. Enumerable.Range(1, 5).Select(i => new NodeId($"stemedb-node-{i}"))];
        _table = new MetaRange(Shards, MetaRange.GenesisDescriptor(Shards, nodes.Take(3), nodes[0]));
        _table.Apply(_snapshot);
    }

    [Benchmark(Description = "apply snapshot of 100k, all newer")]
    public bool ApplyNewerSnapshot() => _table.Apply(_newer);

    private static List<RangeDescriptor> Descriptors(NodeId[] nodes, long generation, long wall)
    {
        var descriptors = new List<RangeDescriptor>(Ranges);
        for (int r = 0; r < Ranges; r++)
        {
            int start = (int)((long)Shards * r / Ranges);
            int end = (int)((long)Shards * (r + 1) / Ranges);
            ImmutableArray<NodeId> replicas = [nodes[r % 5], nodes[(r + 1) % 5], nodes[(r + 2) % 5]];
            descriptors.Add(new RangeDescriptor(new RangeId((ulong)r + 2), start, end, replicas, generation, new HlcTimestamp(wall, 0), nodes[0]));
        }

        return descriptors;
    }
}
