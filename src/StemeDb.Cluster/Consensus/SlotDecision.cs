using System.Collections.Immutable;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

public enum SlotDecisionKind
{
    /// <summary>A value is chosen in the slot (this proposer's, or one it carried).</summary>
    Chosen,

    /// <summary>The slot was decided long ago; <see cref="SlotDecision.Current"/> holds the span now.</summary>
    Superseded,

    /// <summary>No value could be chosen (no majority reachable, or outbid every time): nothing is known.</summary>
    Failed,
}

/// <summary>What driving one slot came to.</summary>
public sealed record SlotDecision(SlotDecisionKind Kind, DescriptorChange? Chosen, ImmutableArray<RangeDescriptor> Current, string? Why)
{
    public static SlotDecision ChosenValue(DescriptorChange value) => new(SlotDecisionKind.Chosen, value, [], null);

    public static SlotDecision SupersededBy(ImmutableArray<RangeDescriptor> current, string? why) => new(SlotDecisionKind.Superseded, null, current, why);

    public static SlotDecision Failure(string? why) => new(SlotDecisionKind.Failed, null, [], why);
}
