using System.Collections.Immutable;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

public enum SlotPhase
{
    /// <summary>Phase 1: waiting for promises from a majority of the slot's acceptors.</summary>
    Preparing,

    /// <summary>Promised by a majority: the value is fixed; the replicas it creates are being filled.</summary>
    Filling,

    /// <summary>Phase 2: waiting for a majority to accept the value.</summary>
    Accepting,

    /// <summary>A majority accepted the value at this ballot: it is chosen, for good.</summary>
    Chosen,

    /// <summary>An acceptor knows a newer descriptor for the span and no longer the slot: decided long ago.</summary>
    Stale,

    /// <summary>This ballot cannot succeed (refusals, no answers, a failed fill): try a higher one.</summary>
    Failed,
}

/// <summary>
/// One ballot of a proposer in one slot, as a state machine fed with the acceptors' answers (no I/O, so the
/// node and the simulation run the same rules). Quorums are majorities of the slot descriptor's listed
/// replicas, never of a membership view. After a majority promised, the value is the highest-ballot
/// proposal any of them accepted, or the proposer's own when none did ("Paxos Made Simple" §2.2, P2c).
/// </summary>
public sealed class SlotRound
{
    private readonly HashSet<NodeId> _answeredPrepare = [];
    private readonly HashSet<NodeId> _answeredAccept = [];
    private readonly List<NodeId> _promisers = [];
    private readonly HashSet<NodeId> _accepted = [];
    private int _prepareFailures;
    private int _acceptFailures;
    private Ballot _highestAcceptedBallot = Ballot.Zero;
    private DescriptorChange? _highestAccepted;

    public SlotRound(RangeDescriptor predecessor, DescriptorChange proposal, Ballot ballot)
    {
        ArgumentNullException.ThrowIfNull(predecessor);
        ArgumentNullException.ThrowIfNull(proposal);
        if (proposal.IndexOf(SlotId.Of(predecessor)) < 0)
        {
            throw new ArgumentException($"The proposal {proposal} does not replace {predecessor}.", nameof(proposal));
        }

        Predecessor = predecessor;
        Proposal = proposal;
        Ballot = ballot;
        HighestSeen = ballot;
    }

    public RangeDescriptor Predecessor { get; }

    public SlotId Slot => SlotId.Of(Predecessor);

    public DescriptorChange Proposal { get; }

    public Ballot Ballot { get; }

    public ImmutableArray<NodeId> Acceptors => Predecessor.Replicas;

    public int Quorum => (Acceptors.Length / 2) + 1;

    public SlotPhase Phase { get; private set; } = SlotPhase.Preparing;

    /// <summary>The value of phase 2, once a majority promised.</summary>
    public DescriptorChange? Value { get; private set; }

    /// <summary>Whether <see cref="Value"/> is another proposer's, carried.</summary>
    public bool Carried => Value is not null && !Value.Equals(Proposal);

    public IReadOnlyList<NodeId> Promisers => _promisers;

    /// <summary>The highest ballot any acceptor reported: the next attempt goes above it.</summary>
    public Ballot HighestSeen { get; private set; }

    /// <summary>With <see cref="SlotPhase.Stale"/>: the descriptors that hold the span now.</summary>
    public ImmutableArray<RangeDescriptor> Current { get; private set; } = [];

    public string? Why { get; private set; }

    /// <summary>An acceptor's answer to the prepare, or null when it gave none (timeout, unreachable).</summary>
    public void OnPrepareReply(NodeId from, PrepareReply? reply)
    {
        if (Phase != SlotPhase.Preparing || !Acceptors.Contains(from) || !_answeredPrepare.Add(from))
        {
            return;
        }

        switch (reply?.Outcome)
        {
            case PrepareOutcome.Promised when reply.Promised == Ballot:
                _promisers.Add(from);
                if (reply.Accepted is not null && reply.AcceptedBallot > _highestAcceptedBallot)
                {
                    _highestAcceptedBallot = reply.AcceptedBallot;
                    _highestAccepted = reply.Accepted;
                }

                if (_promisers.Count >= Quorum)
                {
                    Value = _highestAccepted ?? Proposal;
                    Phase = SlotPhase.Filling;
                }

                return;
            case PrepareOutcome.Stale:
                // A newer descriptor holds the span, so this slot was decided; the acceptor no longer knows how.
                Current = reply.Current;
                Phase = SlotPhase.Stale;
                Why = $"{from} knows the slot as decided";
                return;
            case PrepareOutcome.Rejected:
                Observe(reply.Promised);
                Why = $"{from} promised {reply.Promised}";
                break;
            case PrepareOutcome.NotAcceptor:
                Why = $"{from} is not a replica of {Predecessor.Id}@{Predecessor.Generation}";
                break;
            default:
                Why ??= $"{from} did not answer";
                break;
        }

        if (++_prepareFailures > Acceptors.Length - Quorum)
        {
            Phase = SlotPhase.Failed;
        }
    }

    /// <summary>The new replicas hold the promisers' data (or could not be filled).</summary>
    public void OnFilled(bool filled)
    {
        if (Phase != SlotPhase.Filling)
        {
            return;
        }

        Phase = filled ? SlotPhase.Accepting : SlotPhase.Failed;
        Why = filled ? null : "the new replicas could not be filled";
    }

    /// <summary>An acceptor's answer to the accept, or null when it gave none.</summary>
    public void OnAcceptReply(NodeId from, AcceptReply? reply)
    {
        if (Phase != SlotPhase.Accepting || !Acceptors.Contains(from) || !_answeredAccept.Add(from))
        {
            return;
        }

        if (reply is { Accepted: true } && reply.Promised == Ballot)
        {
            _accepted.Add(from);
            if (_accepted.Count >= Quorum)
            {
                Phase = SlotPhase.Chosen;
            }

            return;
        }

        if (reply is not null)
        {
            Observe(reply.Promised);
            Why = $"{from} promised {reply.Promised} before it could accept";
        }
        else
        {
            Why = $"{from} did not answer the accept";
        }

        if (++_acceptFailures > Acceptors.Length - Quorum)
        {
            Phase = SlotPhase.Failed;
        }
    }

    private void Observe(Ballot ballot)
    {
        if (ballot > HighestSeen)
        {
            HighestSeen = ballot;
        }
    }
}
