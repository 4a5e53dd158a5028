using System.Collections.Immutable;
using StemeDb.Cluster.Consensus;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node;

/// <summary>
/// This node as a proposer of descriptor changes: the consensus of the core
/// (<see cref="ChangeOrchestration"/>, <see cref="SlotDecider"/>) over the internal API, with this node's
/// own acceptor called in process. Between the promises and the accepts of a change that moves replicas,
/// it fills the new replicas from the union of the promising majority (pulled into this node's store,
/// then pushed to every replica of the new descriptors until a majority of each holds it); a change that
/// keeps the replica set (split, merge, leader move, renewal) moves no data. Only a decided outcome is
/// published. A membership view only ever starts an attempt; the old replicas decide it.
/// </summary>
public sealed class DescriptorProposer(
    ClusterNode node,
    MetaRangeSync sync,
    ConsensusAcceptor acceptor,
    PeerClient peers,
    RangeData data,
    TimeProvider time,
    NodeTelemetry telemetry,
    ILogger<DescriptorProposer> logger) : IConsensusTransport
{
    private readonly Lock _randomLock = new();
    private readonly Random _random = new();

    /// <summary>Carries the change through consensus and publishes whatever got decided on the way.</summary>
    public Task<ChangeResult> ProposeAsync(DescriptorChange change, string reason, CancellationToken cancellationToken) =>
        ProposeAsync(change, reason, "other", cancellationToken);

    /// <param name="cause">The rule that planned it (<see cref="RangeChange.Cause"/>), for metrics.</param>
    public async Task<ChangeResult> ProposeAsync(DescriptorChange change, string reason, string cause, CancellationToken cancellationToken)
    {
        using System.Diagnostics.Activity? span = telemetry.Source.StartActivity("propose " + change.Kind.ToString().ToLowerInvariant());
        long started = time.GetTimestamp();
        ChangeResult result = await ChangeOrchestration.CarryOutAsync(change, new SlotDecider(this), cancellationToken).ConfigureAwait(false);
        string outcome = result.Took ? "decided" : !result.Publish.IsEmpty ? "superseded" : "undecided";
        telemetry.Proposed(change.Kind.ToString().ToLowerInvariant(), string.IsNullOrEmpty(cause) ? "other" : cause, outcome, time.GetElapsedTime(started));
        span?.SetTag("stemedb.outcome", outcome);
        if (!result.Publish.IsEmpty)
        {
            IEnumerable<NodeId> involved = change.Replaces.Concat(change.Creates).Concat(result.Publish).SelectMany(d => d.Replicas);
            await sync.PublishAsync(result.Publish, involved, cancellationToken).ConfigureAwait(false);
        }
        else if (!result.Current.IsEmpty)
        {
            sync.Apply(result.Current, "a consensus answer");
        }

        if (result.Took)
        {
            logger.LogInformation("Range {Kind} decided: {Reason}; now {Descriptors}", change.Kind, reason, string.Join("; ", change.Creates));
        }
        else if (!result.Publish.IsEmpty)
        {
            logger.LogInformation("Range {Kind} not taken ({Reason}): another change was decided first and is now published: {Descriptors}", change.Kind, reason, string.Join("; ", result.Publish));
        }
        else
        {
            logger.LogWarning("Range {Kind} not decided ({Reason}): {Summary}", change.Kind, reason, result.Summary);
        }

        return result;
    }

    public Ballot NextBallot(Ballot above) =>
        new(Math.Max(node.Clock.Now().Packed, above.Round + 1), node.Id);

    public async Task<PrepareReply?> PrepareAsync(NodeId to, RangeDescriptor predecessor, Ballot ballot, CancellationToken cancellationToken)
    {
        if (to == node.Id)
        {
            return await acceptor.PrepareAsync(predecessor, ballot).ConfigureAwait(false);
        }

        PeerResult<PrepareReplyDto> reply = await peers.PrepareAsync(to, new PrepareRequest(RangeDescriptorDto.From(predecessor), BallotDto.From(ballot)), cancellationToken).ConfigureAwait(false);
        return reply.IsOk ? reply.Value!.ToReply() : null;
    }

    public async Task<AcceptReply?> AcceptAsync(NodeId to, RangeDescriptor predecessor, Ballot ballot, DescriptorChange value, CancellationToken cancellationToken)
    {
        if (to == node.Id)
        {
            return await acceptor.AcceptAsync(predecessor, ballot, value).ConfigureAwait(false);
        }

        PeerResult<AcceptReplyDto> reply = await peers.AcceptAsync(to, new AcceptRequest(RangeDescriptorDto.From(predecessor), BallotDto.From(ballot), DescriptorChangeDto.From(value)), cancellationToken).ConfigureAwait(false);
        return reply.IsOk ? reply.Value!.ToReply() : null;
    }

    public async Task<bool> FillAsync(RangeDescriptor predecessor, DescriptorChange value, IReadOnlyList<NodeId> promisers, CancellationToken cancellationToken)
    {
        if (value.Creates.All(c => c.HasSameReplicaSet(predecessor)))
        {
            return true; // every write a majority of the old set holds, a majority of the same set holds
        }

        // The union of the promisers, read after their promise: every write a majority acknowledged at the
        // old generation is on one of them (majorities intersect), and no more can be acknowledged there.
        foreach (NodeId promiser in promisers.Where(p => p != node.Id))
        {
            if (await data.PullAsync(predecessor.StartShard, predecessor.EndShard, promiser, cancellationToken).ConfigureAwait(false) < 0)
            {
                return false;
            }
        }

        foreach (RangeDescriptor created in value.Creates)
        {
            int holding = created.Replicas.Contains(node.Id) ? 1 : 0;
            foreach (NodeId target in created.Replicas.Where(r => r != node.Id))
            {
                holding += await data.PushAsync(created.StartShard, created.EndShard, target, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }

            if (holding < (created.Replicas.Length / 2) + 1)
            {
                logger.LogWarning("Only {Holding} of the replicas of {Descriptor} could be filled; the change waits", holding, created);
                return false;
            }
        }

        return true;
    }

    public Task BackoffAsync(int attempt, CancellationToken cancellationToken)
    {
        int ms;
        lock (_randomLock)
        {
            ms = _random.Next(50, 200 * Math.Min(attempt, 10));
        }

        return Task.Delay(TimeSpan.FromMilliseconds(ms), time, cancellationToken);
    }

    /// <summary>The decided change of a range plan entry as consensus takes it.</summary>
    public static DescriptorChange ToChange(RangeChange change) =>
        new(change.Kind, [.. change.Replaces.Select(e => e.Descriptor)], change.Update.Descriptors);

    /// <summary>Whether every replaced descriptor still stands in this node's table (else the plan is stale).</summary>
    public bool StillCurrent(DescriptorChange change)
    {
        MetaRangeSnapshot table = node.Table.Current;
        return change.Replaces.All(d => table.DescriptorsOverlapping(d.StartShard, d.EndShard) is [var only] && only.Equals(d));
    }

    internal static ImmutableArray<NodeId> Newcomers(DescriptorChange change) =>
        [.. change.Creates.SelectMany(c => c.Replicas).Distinct().Where(r => !change.Replaces.Any(d => d.Replicas.Contains(r)))];
}
