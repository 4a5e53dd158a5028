using StemeDb.Cluster.Consensus;
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

/// <summary>
/// Descriptors of the meta-range: a node's table, or an update. <see cref="ClusterId"/> and <see cref="Hlc"/>
/// (the sender's clock, observed by the receiver) are set by nodes; a receiver refuses another cluster's.
/// </summary>
public sealed record MetaRangeDto(int ShardCount, List<RangeDescriptorDto> Descriptors, string? ClusterId = null, ulong? Hlc = null);

public sealed record BallotDto(ulong Round, string Proposer)
{
    public static BallotDto From(Ballot b) => new(b.Round, b.Proposer.Value ?? "");

    public Ballot ToBallot() => Proposer.Length == 0 && Round == 0 ? Ballot.Zero : new Ballot(Round, new NodeId(Proposer));
}

/// <summary>A descriptor change: the value of one consensus slot.</summary>
public sealed record DescriptorChangeDto(string Kind, List<RangeDescriptorDto> Replaces, List<RangeDescriptorDto> Creates)
{
    public static DescriptorChangeDto From(DescriptorChange c) =>
        new(c.Kind.ToString(), [.. c.Replaces.Select(RangeDescriptorDto.From)], [.. c.Creates.Select(RangeDescriptorDto.From)]);

    public DescriptorChange ToChange() =>
        new(Enum.Parse<RangeChangeKind>(Kind), [.. Replaces.Select(d => d.ToDescriptor())], [.. Creates.Select(d => d.ToDescriptor())]);
}

/// <summary>Phase 1a: promise <see cref="Ballot"/> for the slot of <see cref="Predecessor"/>.</summary>
public sealed record PrepareRequest(RangeDescriptorDto Predecessor, BallotDto Ballot);

public sealed record PrepareReplyDto(string Outcome, BallotDto Promised, BallotDto AcceptedBallot, DescriptorChangeDto? Accepted, List<RangeDescriptorDto> Current)
{
    public static PrepareReplyDto From(PrepareReply r) =>
        new(r.Outcome.ToString(), BallotDto.From(r.Promised), BallotDto.From(r.AcceptedBallot), r.Accepted is null ? null : DescriptorChangeDto.From(r.Accepted), [.. r.Current.Select(RangeDescriptorDto.From)]);

    public PrepareReply ToReply() =>
        new(Enum.Parse<PrepareOutcome>(Outcome), Promised.ToBallot(), AcceptedBallot.ToBallot(), Accepted?.ToChange(), [.. Current.Select(d => d.ToDescriptor())]);
}

/// <summary>Phase 2a: accept <see cref="Value"/> at <see cref="Ballot"/> in the slot of <see cref="Predecessor"/>.</summary>
public sealed record AcceptRequest(RangeDescriptorDto Predecessor, BallotDto Ballot, DescriptorChangeDto Value);

public sealed record AcceptReplyDto(bool Accepted, BallotDto Promised)
{
    public static AcceptReplyDto From(AcceptReply r) => new(r.Accepted, BallotDto.From(r.Promised));

    public AcceptReply ToReply() => new(Accepted, Promised.ToBallot());
}

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
