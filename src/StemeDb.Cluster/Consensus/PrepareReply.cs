using System.Collections.Immutable;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

public enum PrepareOutcome
{
    /// <summary>Promised: no proposal below the ballot will be accepted; carries what was accepted before.</summary>
    Promised,

    /// <summary>Refused: a higher ballot was promised (<see cref="PrepareReply.Promised"/>).</summary>
    Rejected,

    /// <summary>The slot was decided long ago and forgotten here; <see cref="PrepareReply.Current"/> holds its successors.</summary>
    Stale,

    /// <summary>The replying node is not a replica of the slot's descriptor.</summary>
    NotAcceptor,
}

/// <summary>An acceptor's answer to phase 1a.</summary>
public sealed record PrepareReply(PrepareOutcome Outcome, Ballot Promised, Ballot AcceptedBallot, DescriptorChange? Accepted, ImmutableArray<RangeDescriptor> Current)
{
    public static PrepareReply Promise(AcceptorState state) => new(PrepareOutcome.Promised, state.Promised, state.AcceptedBallot, state.Accepted, []);

    public static PrepareReply Reject(Ballot promised) => new(PrepareOutcome.Rejected, promised, Ballot.Zero, null, []);

    public static PrepareReply StaleSlot(ImmutableArray<RangeDescriptor> current) => new(PrepareOutcome.Stale, Ballot.Zero, Ballot.Zero, null, current);

    public static PrepareReply NotAnAcceptor { get; } = new(PrepareOutcome.NotAcceptor, Ballot.Zero, Ballot.Zero, null, []);
}
