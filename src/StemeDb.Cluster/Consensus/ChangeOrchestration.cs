using System.Collections.Immutable;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

/// <summary>
/// Carries a descriptor change through the slots it replaces. A one-slot change is one Paxos decision. A
/// merge is decided slot by slot from right to left, each slot only after the ones before it chose the
/// merge, and takes effect only if every slot chose it: so a slot that chose a merge whose last slot is
/// chosen knows the merge took effect, and a slot whose merge was refused further left ends in
/// <see cref="DescriptorChange.Abandoned"/> (the same range, one generation on). Every outcome is a
/// function of the values chosen in the slots involved, so any node that learns them publishes the same
/// descriptors; when a slot's outcome cannot be known yet (no majority), nothing is published for it and
/// its replicas stay fenced until a later attempt (a <see cref="DescriptorChange.Renew"/>) resolves it.
/// </summary>
public static class ChangeOrchestration
{
    public static async Task<ChangeResult> CarryOutAsync(DescriptorChange change, ISlotDecider decider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(decider);
        for (int i = 0; i < change.SlotCount; i++)
        {
            SlotDecision decision = await decider.DecideAsync(change.Replaces[i], change, cancellationToken).ConfigureAwait(false);
            switch (decision.Kind)
            {
                case SlotDecisionKind.Chosen when change.Equals(decision.Chosen):
                    continue;
                case SlotDecisionKind.Chosen:
                    ChangeResult other = await OutcomeAsync(change.Replaces[i], decision.Chosen!, decider, cancellationToken).ConfigureAwait(false);
                    return other.WithAbandoned(change, i);
                case SlotDecisionKind.Superseded when i == 0:
                    return ChangeResult.NotApplied([], decision.Current, $"slot {change.SlotAt(0)} was decided before: {decision.Why}");
                default:
                    // Undecided, or decided and forgotten: whether this change took effect in slot i is not
                    // known, so the earlier slots (which chose it) cannot be settled yet.
                    return ChangeResult.Unsettled(
                        [.. change.Replaces.Take(i).Select(SlotId.Of)],
                        decision.Current,
                        $"slot {change.SlotAt(i)}: {decision.Why}");
            }
        }

        return ChangeResult.Applied(change);
    }

    /// <summary>
    /// The outcome of a slot that chose <paramref name="value"/> (perhaps another proposer's): the value's
    /// descriptors if its remaining slots choose it too (driven here), else what those slots chose.
    /// </summary>
    private static async Task<ChangeResult> OutcomeAsync(RangeDescriptor slot, DescriptorChange value, ISlotDecider decider, CancellationToken cancellationToken)
    {
        int at = value.IndexOf(SlotId.Of(slot));
        for (int j = at + 1; j < value.SlotCount; j++)
        {
            SlotDecision decision = await decider.DecideAsync(value.Replaces[j], value, cancellationToken).ConfigureAwait(false);
            switch (decision.Kind)
            {
                case SlotDecisionKind.Chosen when value.Equals(decision.Chosen):
                    continue;
                case SlotDecisionKind.Chosen:
                    ChangeResult other = await OutcomeAsync(value.Replaces[j], decision.Chosen!, decider, cancellationToken).ConfigureAwait(false);
                    return other.WithAbandoned(value, j, from: at);
                default:
                    return ChangeResult.Unsettled([.. value.Replaces.Skip(at).Take(j - at).Select(SlotId.Of)], decision.Current, $"slot {value.SlotAt(j)}: {decision.Why}");
            }
        }

        return ChangeResult.NotApplied([new SlotOutcome(value, [.. value.Replaces.Select(SlotId.Of)], value.Creates)], [], "another change was chosen");
    }
}

/// <summary>The decided successors of some slots: what one decision (or one abandonment) gives them.</summary>
public sealed record SlotOutcome(DescriptorChange Source, ImmutableArray<SlotId> Slots, ImmutableArray<RangeDescriptor> Successors);

/// <summary>
/// What carrying out a change came to: whether it took effect, and every decided outcome learned on the
/// way (to publish; empty when nothing was decided). <see cref="UnsettledSlots"/> chose a change whose
/// fate is not known yet.
/// </summary>
public sealed record ChangeResult(bool Took, ImmutableArray<SlotOutcome> Outcomes, ImmutableArray<SlotId> UnsettledSlots, ImmutableArray<RangeDescriptor> Current, string Summary)
{
    /// <summary>Every decided descriptor to publish, in one update.</summary>
    public ImmutableArray<RangeDescriptor> Publish => [.. Outcomes.SelectMany(o => o.Successors)];

    public static ChangeResult Applied(DescriptorChange change) =>
        new(true, [new SlotOutcome(change, [.. change.Replaces.Select(SlotId.Of)], change.Creates)], [], [], "decided");

    public static ChangeResult NotApplied(ImmutableArray<SlotOutcome> outcomes, ImmutableArray<RangeDescriptor> current, string summary) =>
        new(false, outcomes, [], current, summary);

    public static ChangeResult Unsettled(ImmutableArray<SlotId> slots, ImmutableArray<RangeDescriptor> current, string summary) =>
        new(false, [], slots, current, summary);

    /// <summary>
    /// Adds the outcome of slots <c>[from, upTo)</c> of <paramref name="abandoned"/>: they chose it, but its
    /// slot <paramref name="upTo"/> chose something else, so it never takes effect and they renew.
    /// </summary>
    internal ChangeResult WithAbandoned(DescriptorChange abandoned, int upTo, int from = 0)
    {
        if (upTo <= from)
        {
            return this with { Took = false };
        }

        // Known whatever else is unsettled: slot upTo chose another value, so the abandoned change never completes.
        SlotOutcome[] renewed = [.. abandoned.Replaces.Skip(from).Take(upTo - from)
            .Select(d => new SlotOutcome(abandoned, [SlotId.Of(d)], [DescriptorChange.Abandoned(d, abandoned)]))];
        return this with { Took = false, Outcomes = Outcomes.AddRange(renewed) };
    }
}
