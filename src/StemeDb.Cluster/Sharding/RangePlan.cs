using System.Collections.Immutable;

namespace StemeDb.Cluster.Sharding;

/// <summary>What <see cref="RangeManager.Plan"/> decided, and the ranges it could do nothing for.</summary>
public sealed record RangePlan(ImmutableArray<RangeChange> Changes, ImmutableArray<MetaRangeEntry> Unavailable)
{
    public bool IsEmpty => Changes.IsEmpty;
}
