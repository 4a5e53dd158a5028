using StemeDb.Cluster.Consensus;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Contracts.Wire;

// The JSON forms of descriptor consensus between nodes.

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
