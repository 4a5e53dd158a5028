namespace StemeDb.Containers.Tests;

/// <summary>
/// Aims a share of a workload's writes at subjects whose shards lie in the given spans (the ranges a
/// fault splits), so that the reads and retractions of those subjects hit them too.
/// </summary>
public sealed record LoadFocus(IReadOnlyList<(int StartShard, int EndShard)> Spans, double Share)
{
    public static LoadFocus On(IEnumerable<RangeInfo> ranges, double share = 0.5) => new([.. ranges.Select(r => (r.StartShard, r.EndShard))], share);

    public bool Holds(int shard) => Spans.Any(s => shard >= s.StartShard && shard < s.EndShard);
}
