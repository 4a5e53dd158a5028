using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

/// <summary>
/// A proposer for one slot: ballots of <see cref="SlotRound"/> over an <see cref="IConsensusTransport"/>,
/// each phase moving on as soon as a majority answered, a higher ballot after a refusal (with randomised
/// back-off against duelling proposers), at most <see cref="MaxAttempts"/> ballots. Safety never rests on
/// this loop: whatever it does, an acceptor accepts only what its promises allow.
/// </summary>
public sealed class SlotDecider(IConsensusTransport transport, int maxAttempts = 5) : ISlotDecider
{
    public int MaxAttempts { get; } = maxAttempts >= 1 ? maxAttempts : throw new ArgumentOutOfRangeException(nameof(maxAttempts));

    public async Task<SlotDecision> DecideAsync(RangeDescriptor predecessor, DescriptorChange proposal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predecessor);
        ArgumentNullException.ThrowIfNull(proposal);
        Ballot seen = Ballot.Zero;
        string? why = null;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (attempt > 0)
            {
                await transport.BackoffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }

            var round = new SlotRound(predecessor, proposal, transport.NextBallot(seen));
            await CollectAsync(
                [.. round.Acceptors.Select(a => Answer(a, transport.PrepareAsync(a, predecessor, round.Ballot, cancellationToken), cancellationToken))],
                round.OnPrepareReply,
                () => round.Phase != SlotPhase.Preparing).ConfigureAwait(false);

            if (round.Phase == SlotPhase.Stale)
            {
                return SlotDecision.SupersededBy(round.Current, round.Why);
            }

            if (round.Phase == SlotPhase.Filling)
            {
                DescriptorChange value = round.Value!;
                round.OnFilled(await transport.FillAsync(predecessor, value, round.Promisers, cancellationToken).ConfigureAwait(false));
                if (round.Phase == SlotPhase.Failed)
                {
                    // A higher ballot would find the same replicas out of reach: give the slot back to its replicas.
                    return SlotDecision.Failure(round.Why);
                }

                if (round.Phase == SlotPhase.Accepting)
                {
                    await CollectAsync(
                        [.. round.Acceptors.Select(a => Answer(a, transport.AcceptAsync(a, predecessor, round.Ballot, value, cancellationToken), cancellationToken))],
                        round.OnAcceptReply,
                        () => round.Phase != SlotPhase.Accepting).ConfigureAwait(false);
                }

                if (round.Phase == SlotPhase.Chosen)
                {
                    return SlotDecision.ChosenValue(value);
                }
            }

            seen = round.HighestSeen;
            why = round.Why ?? $"no majority of {string.Join(", ", round.Acceptors)} answered";
        }

        return SlotDecision.Failure(why);
    }

    /// <summary>Feeds answers to the round as they come, until it has what it needs; the rest are left to finish alone.</summary>
    private static async Task CollectAsync<T>(List<Task<(NodeId From, T? Reply)>> pending, Action<NodeId, T?> feed, Func<bool> done)
        where T : class
    {
        while (pending.Count > 0 && !done())
        {
            Task<(NodeId From, T? Reply)> next = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(next);
            (NodeId from, T? reply) = await next.ConfigureAwait(false);
            feed(from, reply);
        }
    }

    /// <summary>An answer, or null for any failure but this proposer's own cancellation.</summary>
    private static async Task<(NodeId From, T? Reply)> Answer<T>(NodeId from, Task<T?> call, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return (from, await call.ConfigureAwait(false));
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return (from, null);
        }
    }
}
