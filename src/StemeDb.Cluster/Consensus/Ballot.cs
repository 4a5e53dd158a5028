using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Consensus;

/// <summary>
/// A Paxos proposal number: a round and the proposing node, so that two proposers never use the same
/// ballot ("Paxos Made Simple" §2.5, disjoint sets of numbers). Nodes take rounds from their hybrid logical
/// clock, which never goes back across restarts, so a node never reuses a ballot of an earlier life.
/// </summary>
public readonly record struct Ballot(ulong Round, NodeId Proposer) : IComparable<Ballot>
{
    /// <summary>Below every real ballot: what an acceptor that never promised holds.</summary>
    public static Ballot Zero => default;

    public bool IsZero => Round == 0 && Proposer.Value is null;

    public int CompareTo(Ballot other)
    {
        int c = Round.CompareTo(other.Round);
        return c != 0 ? c : string.CompareOrdinal(Proposer.Value, other.Proposer.Value);
    }

    public static bool operator <(Ballot a, Ballot b) => a.CompareTo(b) < 0;

    public static bool operator >(Ballot a, Ballot b) => a.CompareTo(b) > 0;

    public static bool operator <=(Ballot a, Ballot b) => a.CompareTo(b) <= 0;

    public static bool operator >=(Ballot a, Ballot b) => a.CompareTo(b) >= 0;

    public override string ToString() => IsZero ? "0" : $"{Round}/{Proposer}";
}
