using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Sharding;

/// <summary>Short ways to write descriptors in tests.</summary>
internal static class Descriptors
{
    public static NodeId N(int i) => new($"node-{i}");

    public static RangeDescriptor D(ulong id, int start, int end, long generation, long wallMs = 0, int proposer = 1, params int[] replicas) =>
        new(
            new RangeId(id),
            start,
            end,
            [.. (replicas.Length == 0 ? [1, 2, 3] : replicas).Select(N)],
            generation,
            new HlcTimestamp(wallMs, 0),
            N(proposer));

    public static MetaRange Table(int shardCount, params int[] replicas) =>
        new(shardCount, MetaRange.GenesisDescriptor(shardCount, (replicas.Length == 0 ? [1, 2, 3] : replicas).Select(N), N(1)));
}
