using System.Collections.Immutable;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// How many ranges each live member holds a replica of: what <see cref="Rebalancer"/> evens out. Counted
/// from the table, each descriptor once however many entries it wins, and kept up by <see cref="Record"/>
/// as moves are planned, so that each move sees the ones before it.
/// </summary>
internal sealed class ReplicaCounts
{
    private readonly Dictionary<NodeId, int> _count;

    public ReplicaCounts(IEnumerable<RangeDescriptor> descriptors, IReadOnlySet<NodeId> live)
    {
        _count = live.ToDictionary(n => n, _ => 0);
        foreach (RangeDescriptor d in descriptors)
        {
            Add(d.Replicas, 1);
        }
    }

    public int this[NodeId node] => _count[node];

    /// <summary>The most loaded live member; the lowest id among equals, so that every node picks the same.</summary>
    public NodeId Most => _count.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;

    /// <summary>The least loaded live member; the lowest id among equals.</summary>
    public NodeId Least => _count.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;

    /// <summary>The count of <see cref="Most"/> minus that of <see cref="Least"/>; 0 without live members.</summary>
    public int Spread => _count.Count == 0 ? 0 : _count.Values.Max() - _count.Values.Min();

    /// <summary>Counts a planned change as done: the replicas of what it replaces out, those of what it creates in.</summary>
    public void Record(RangeChange change)
    {
        foreach (MetaRangeEntry replaced in change.Replaces)
        {
            Add(replaced.Descriptor.Replicas, -1);
        }

        foreach (RangeDescriptor created in change.Update.Descriptors)
        {
            Add(created.Replicas, 1);
        }
    }

    private void Add(ImmutableArray<NodeId> replicas, int delta)
    {
        foreach (NodeId replica in replicas.Where(_count.ContainsKey))
        {
            _count[replica] += delta;
        }
    }
}
