using System.Collections.Immutable;
using System.Text;
using BenchmarkDotNet.Attributes;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Benchmarks;

/// <summary>
/// subject → owner: BLAKE3 of the subject, jump hash to a shard, shard → range, first live replica.
/// Target (README, "Performance"): at most 250 ns median and 0 bytes allocated per lookup.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class RouteLookupBenchmarks
{
    private const int SubjectCount = 1024;
    private RangeRouter _router = null!;
    private string[] _subjects = null!;
    private byte[][] _utf8 = null!;
    private int _next;

    [Params(1, 1_000, 100_000)]
    public int Ranges { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // 100 000 ranges need at least as many shards; the default S = 4096 serves the others.
        int shards = Ranges <= 4096 ? 4096 : 131_072;
        NodeId[] nodes = [.. Enumerable.Range(1, 5).Select(i => new NodeId($"stemedb-node-{i}"))];
        var table = new MetaRange(shards, MetaRange.GenesisDescriptor(shards, nodes.Take(3), nodes[0]));
        var descriptors = new List<RangeDescriptor>(Ranges);
        for (int r = 0; r < Ranges; r++)
        {
            int start = (int)((long)shards * r / Ranges);
            int end = (int)((long)shards * (r + 1) / Ranges);
            ImmutableArray<NodeId> replicas = [nodes[r % 5], nodes[(r + 1) % 5], nodes[(r + 2) % 5]];
            descriptors.Add(new RangeDescriptor(new RangeId((ulong)r + 2), start, end, replicas, 1, new HlcTimestamp(1, 0), nodes[0]));
        }

        table.Apply(descriptors);
        _router = new RangeRouter(table);
        _router.MarkDead(nodes[4]); // a dead member, as in real life: routes skip it
        _subjects = [.. Enumerable.Range(0, SubjectCount).Select(i => $"urn:stemedb:subject:{i * 7919}")];
        _utf8 = [.. _subjects.Select(Encoding.UTF8.GetBytes)];
    }

    [Benchmark(Description = "owner(string subject)")]
    public NodeId OwnerOfString()
    {
        _next = (_next + 1) & (SubjectCount - 1);
        return _router.Route(_subjects[_next]).Leader;
    }

    [Benchmark(Description = "owner(UTF-8 subject)")]
    public NodeId OwnerOfUtf8()
    {
        _next = (_next + 1) & (SubjectCount - 1);
        return _router.RouteValidated(_utf8[_next]).Leader;
    }
}
