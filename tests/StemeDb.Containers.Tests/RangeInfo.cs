namespace StemeDb.Containers.Tests;

/// <summary>A range as the gateway's <c>/v1/cluster/ranges</c> shows it: shard span, generation, replicas and the replica that leads (null when none is live).</summary>
public sealed record RangeInfo(string Id, int StartShard, int EndShard, long Generation, List<string> Replicas, string? Leader)
{
    public bool Holds(int shard) => shard >= StartShard && shard < EndShard;
}
