using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// What the planner knows of load: the planning node's own per-shard request rates (for the ranges it
/// coordinates) and every live node's total rate, as each reported it. Absent, the planner balances
/// leaders by count only and splits by size only.
/// </summary>
public sealed record LoadView(ShardLoad Shards, IReadOnlyDictionary<NodeId, double> NodeRates)
{
    /// <summary>The mean rate of the nodes that reported one.</summary>
    public double MeanNodeRate => NodeRates.Count == 0 ? 0 : NodeRates.Values.Average();

    public double RateOf(NodeId node) => NodeRates.TryGetValue(node, out double rate) ? rate : 0;
}
