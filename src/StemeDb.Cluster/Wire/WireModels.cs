using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Wire;

// The JSON forms of cluster metadata that nodes and gateways exchange (camelCase on the wire).

/// <summary>A range descriptor on the wire (ids in hex, times as packed HLC).</summary>
public sealed record RangeDescriptorDto(string Id, int StartShard, int EndShard, List<string> Replicas, long Generation, ulong Timestamp, string Proposer)
{
    public static RangeDescriptorDto From(RangeDescriptor d) =>
        new(d.Id.ToString(), d.StartShard, d.EndShard, [.. d.Replicas.Select(r => r.Value)], d.Generation, d.Timestamp.Packed, d.Proposer.Value);

    public RangeDescriptor ToDescriptor() =>
        new(new RangeId(Convert.ToUInt64(Id, 16)), StartShard, EndShard, [.. Replicas.Select(r => new NodeId(r))], Generation, HlcTimestamp.FromPacked(Timestamp), new NodeId(Proposer));
}

public sealed record MetaRangeDto(int ShardCount, List<RangeDescriptorDto> Descriptors);

public sealed record MemberDto(string Id, string AppId, string HttpAddress, string SwimAddress, string State, uint Incarnation)
{
    public static MemberDto From(NodeInfo n) => new(n.Id.Value, n.AppId, n.HttpAddress, n.SwimAddress.ToString(), n.State.ToString().ToLowerInvariant(), n.Incarnation);
}

/// <summary>A membership event as published on the topic <c>membership</c>.</summary>
public sealed record MembershipEventDto(string Kind, MemberDto Member, DateTimeOffset At, string ObservedBy)
{
    public static MembershipEventDto From(MembershipEvent e) =>
        new(e.Kind.ToString().ToLowerInvariant(), MemberDto.From(e.Member), e.At, e.ObservedBy.Value);
}
