using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Where a subject goes: its shard, the entry (range) that holds the shard, and that range's live replicas
/// in order; the first of them leads. A struct over shared arrays, so a lookup allocates nothing.
/// </summary>
public readonly struct RangeRoute
{
    private readonly RouteSlot _slot;

    internal RangeRoute(int shard, RouteSlot slot)
    {
        Shard = shard;
        _slot = slot;
    }

    public int Shard { get; }

    public MetaRangeEntry Entry => _slot.Entry;

    public RangeDescriptor Descriptor => _slot.Entry.Descriptor;

    /// <summary>The range's replicas that are not known to be dead, in descriptor order.</summary>
    public ReadOnlySpan<NodeId> LiveReplicas => _slot.Live;

    public bool HasLiveReplica => _slot.Leader is not null;

    /// <summary>The first live replica. Throws <see cref="NoLiveReplicaException"/> when there is none.</summary>
    public NodeId Leader => _slot.Leader ?? throw new NoLiveReplicaException(Shard, _slot.Entry.Descriptor);
}

/// <summary>One entry's routing data, shared by all its shards; the leader sits beside it to save a load.</summary>
internal sealed record RouteSlot(MetaRangeEntry Entry, NodeId[] Live, NodeId? Leader);
