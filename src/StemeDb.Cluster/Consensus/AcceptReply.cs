namespace StemeDb.Cluster.Consensus;

/// <summary>An acceptor's answer to phase 2a: accepted, or refused because it promised <see cref="Promised"/>.</summary>
public sealed record AcceptReply(bool Accepted, Ballot Promised)
{
    public static AcceptReply Yes(Ballot ballot) => new(true, ballot);

    public static AcceptReply No(Ballot promised) => new(false, promised);
}
