using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

/// <summary>
/// What a proposer needs from the world: messages to acceptors, the data copy that fills new replicas,
/// fresh ballots and back-off. The node implements it over HTTP and its store; the simulation over a
/// lossy virtual network.
/// </summary>
public interface IConsensusTransport
{
    /// <summary>A ballot above <paramref name="above"/> that this node never used before.</summary>
    Ballot NextBallot(Ballot above);

    /// <summary>Phase 1a to one acceptor; null when it gave no answer in time.</summary>
    Task<PrepareReply?> PrepareAsync(NodeId acceptor, RangeDescriptor predecessor, Ballot ballot, CancellationToken cancellationToken);

    /// <summary>Phase 2a to one acceptor; null when it gave no answer in time.</summary>
    Task<AcceptReply?> AcceptAsync(NodeId acceptor, RangeDescriptor predecessor, Ballot ballot, DescriptorChange value, CancellationToken cancellationToken);

    /// <summary>
    /// Called once a majority promised, before any accept: makes sure a majority of the replicas of every
    /// descriptor <paramref name="value"/> creates holds the union of the <paramref name="promisers"/>' data
    /// of the span (read after their promise, so it holds every write a majority acknowledged). Nothing to do
    /// when the replica set does not change. False when it could not.
    /// </summary>
    Task<bool> FillAsync(RangeDescriptor predecessor, DescriptorChange value, IReadOnlyList<NodeId> promisers, CancellationToken cancellationToken);

    /// <summary>Waits before attempt <paramref name="attempt"/> (randomised, so that duelling proposers part).</summary>
    Task BackoffAsync(int attempt, CancellationToken cancellationToken);
}
