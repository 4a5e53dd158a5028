namespace StemeDb.Cluster.Consensus;

/// <summary>
/// The acceptor's rules of single-decree Paxos as pure transitions ("Paxos Made Simple" §2.2). The caller
/// makes the new state durable before it sends the reply, and applies the node-level checks first (is this
/// node a replica of the slot's descriptor; is the slot long decided).
/// </summary>
public static class Acceptor
{
    /// <summary>
    /// Phase 1b: promise never to accept a ballot below <paramref name="ballot"/> and report the highest
    /// proposal accepted so far. A repeated prepare of the promised ballot (a duplicated message) is promised again.
    /// </summary>
    public static PrepareReply Prepare(AcceptorState state, Ballot ballot, out AcceptorState next)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (ballot < state.Promised)
        {
            next = state;
            return PrepareReply.Reject(state.Promised);
        }

        next = state with { Promised = ballot };
        return PrepareReply.Promise(next);
    }

    /// <summary>Phase 2b: accept unless a higher ballot was promised.</summary>
    public static AcceptReply Accept(AcceptorState state, Ballot ballot, DescriptorChange value, out AcceptorState next)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(value);
        if (ballot < state.Promised)
        {
            next = state;
            return AcceptReply.No(state.Promised);
        }

        next = new AcceptorState(ballot, ballot, value);
        return AcceptReply.Yes(ballot);
    }
}
