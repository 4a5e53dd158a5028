using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Where a subject goes: its shard, the entry (range) that holds the shard, and that range's live replicas
/// in order; the first of them leads. A struct over shared arrays, so a lookup allocates nothing.
/// </summary>
public readonly struct RangeRoute
{
    private readonly NodeId[] _live;

    internal RangeRoute(int shard, MetaRangeEntry entry, NodeId[] live)
    {
        Shard = shard;
        Entry = entry;
        _live = live;
    }

    public int Shard { get; }

    public MetaRangeEntry Entry { get; }

    public RangeDescriptor Descriptor => Entry.Descriptor;

    /// <summary>The range's replicas that are not known to be dead, in descriptor order.</summary>
    public ReadOnlySpan<NodeId> LiveReplicas => _live;

    public bool HasLiveReplica => _live is { Length: > 0 };

    /// <summary>The first live replica. Throws <see cref="NoLiveReplicaException"/> when there is none.</summary>
    public NodeId Leader => HasLiveReplica ? _live[0] : throw new NoLiveReplicaException(Shard, Entry.Descriptor);
}
