using System.Collections.Immutable;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// What <see cref="RangeManager.Plan"/> proposes, the ranges it could do nothing for (no live replica), and
/// entries held by a descriptor over only part of its span (which decided changes never produce).
/// </summary>
public sealed record RangePlan(ImmutableArray<RangeChange> Changes, ImmutableArray<MetaRangeEntry> Unavailable, ImmutableArray<MetaRangeEntry> Clipped)
{
    public bool IsEmpty => Changes.IsEmpty;
}
