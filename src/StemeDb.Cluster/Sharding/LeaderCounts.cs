using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// How many ranges each live member leads (is the first live replica of): what <see cref="LeaderBalancer"/>
/// evens out. Kept up by <see cref="Move"/> as moves are planned.
/// </summary>
internal sealed class LeaderCounts
{
    private readonly Dictionary<NodeId, int> _count;

    public LeaderCounts(IEnumerable<RangeDescriptor> descriptors, IReadOnlySet<NodeId> live)
    {
        _count = live.ToDictionary(n => n, _ => 0);
        foreach (RangeDescriptor d in descriptors)
        {
            if (LeaderOf(d, live) is { } leader)
            {
                _count[leader]++;
            }
        }
    }

    public int this[NodeId node] => _count.GetValueOrDefault(node);

    public int Spread => _count.Count == 0 ? 0 : _count.Values.Max() - _count.Values.Min();

    public void Move(NodeId from, NodeId to)
    {
        _count[from]--;
        _count[to]++;
    }

    public static NodeId? LeaderOf(RangeDescriptor d, IReadOnlySet<NodeId> live)
    {
        foreach (NodeId node in d.Replicas)
        {
            if (live.Contains(node))
            {
                return node;
            }
        }

        return null;
    }
}
