using System.Collections.Immutable;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// The table a new cluster starts from: pre-split, so that load is spread from the first request rather
/// than after a range grows past the split threshold (keys are hashed, so every span of shards is as
/// busy as any other). <c>count</c> spans of equal width (±1 shard); range <c>i</c> is led by founder
/// <c>i mod N</c> (as Kafka places preferred leaders) and replicated by the founders holding the fewest
/// replicas so far (their leads counted from the start), nearest after the leader first, so every founder leads the same number of ranges (±1)
/// and holds the same number of replicas (±1).
/// </summary>
public static class GenesisTable
{
    /// <summary>Ranges per founding node when <see cref="Configuration.ShardingConfig.InitialRanges"/> is 0 (YugabyteDB makes 8 tablets per server, Cassandra 16 tokens).</summary>
    public const int RangesPerFounder = 8;

    /// <summary>How many ranges a genesis table of <paramref name="founders"/> founders has.</summary>
    public static int RangeCount(int shardCount, int founders, int initialRanges) =>
        Math.Clamp(initialRanges > 0 ? initialRanges : RangesPerFounder * Math.Max(1, founders), 1, shardCount);

    public static ImmutableArray<RangeDescriptor> Create(int shardCount, IReadOnlyList<NodeId> founders, int replicationFactor, int initialRanges)
    {
        ArgumentNullException.ThrowIfNull(founders);
        if (founders.Count == 0)
        {
            throw new ArgumentException("A cluster has at least one founding member.", nameof(founders));
        }

        int n = founders.Count;
        int count = RangeCount(shardCount, n, initialRanges);
        int width = Math.Min(replicationFactor, n);
        // Every founder's leads counted up front: the followers then fill the gaps, so totals end even.
        int[] held = [.. Enumerable.Range(0, n).Select(f => (count / n) + (f < count % n ? 1 : 0))];
        var table = ImmutableArray.CreateBuilder<RangeDescriptor>(count);
        for (int i = 0; i < count; i++)
        {
            int start = (int)((long)i * shardCount / count);
            int end = (int)((long)(i + 1) * shardCount / count);
            RangeId id = i == 0 ? RangeId.Genesis : RangeId.Derive(RangeId.Genesis, 0, start);
            int leader = i % n;
            int[] followers = [.. Enumerable.Range(1, n - 1)
                .Select(d => (leader + d) % n)
                .OrderBy(f => held[f])
                .ThenBy(f => (f - leader + n) % n)
                .Take(width - 1)
                .OrderBy(f => (f - leader + n) % n)];
            foreach (int f in followers)
            {
                held[f]++;
            }

            table.Add(new RangeDescriptor(id, start, end, [founders[leader], .. followers.Select(f => founders[f])], 0, HlcTimestamp.Zero, founders[0]));
        }

        return table.MoveToImmutable();
    }
}
