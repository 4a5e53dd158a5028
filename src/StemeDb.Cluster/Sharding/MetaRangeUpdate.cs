using System.Collections.Immutable;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// One meta-range message: every descriptor a split, merge or replica change creates, so that a
/// receiver never sees half of a split.
/// </summary>
public sealed record MetaRangeUpdate(ImmutableArray<RangeDescriptor> Descriptors)
{
    public MetaRangeUpdate(params RangeDescriptor[] descriptors)
        : this(ImmutableArray.Create(descriptors))
    {
    }
}
