namespace StemeDb.Cluster.Consensus;

/// <summary>
/// What one acceptor keeps for one slot, on stable storage before it answers ("Paxos Made Simple" §2.5):
/// the highest ballot it promised, and the highest-ballot proposal it accepted.
/// </summary>
public sealed record AcceptorState(Ballot Promised, Ballot AcceptedBallot, DescriptorChange? Accepted)
{
    public static AcceptorState Empty { get; } = new(Ballot.Zero, Ballot.Zero, null);
}
