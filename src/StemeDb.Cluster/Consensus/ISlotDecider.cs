using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

/// <summary>Drives the slot of <c>predecessor</c> until a value is chosen in it (proposing <c>proposal</c> if the slot is free).</summary>
public interface ISlotDecider
{
    Task<SlotDecision> DecideAsync(RangeDescriptor predecessor, DescriptorChange proposal, CancellationToken cancellationToken);
}
