using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Contracts.Wire;

// The JSON forms of the meta-range that nodes and gateways exchange (camelCase on the wire).

/// <summary>A range descriptor on the wire (ids in hex, times as packed HLC).</summary>
public sealed record RangeDescriptorDto(string Id, int StartShard, int EndShard, List<string> Replicas, long Generation, ulong Timestamp, string Proposer)
{
    public static RangeDescriptorDto From(RangeDescriptor d) =>
        new(d.Id.ToString(), d.StartShard, d.EndShard, [.. d.Replicas.Select(r => r.Value)], d.Generation, d.Timestamp.Packed, d.Proposer.Value);

    public RangeDescriptor ToDescriptor() =>
        new(new RangeId(Convert.ToUInt64(Id, 16)), StartShard, EndShard, [.. Replicas.Select(r => new NodeId(r))], Generation, HlcTimestamp.FromPacked(Timestamp), new NodeId(Proposer));
}

/// <summary>
/// Descriptors of the meta-range: a node's table, or an update. <see cref="ClusterId"/> and <see cref="Hlc"/>
/// (the sender's clock, observed by the receiver) are set by nodes; a receiver refuses another cluster's.
/// </summary>
public sealed record MetaRangeDto(int ShardCount, List<RangeDescriptorDto> Descriptors, string? ClusterId = null, ulong? Hlc = null);
