using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

/// <summary>
/// One single-decree Paxos instance: the change of range <see cref="Range"/> from generation
/// <see cref="Generation"/> to the next. The replicas of that generation are its acceptors, and at most one
/// change is ever decided in it.
/// </summary>
public readonly record struct SlotId(RangeId Range, long Generation)
{
    public static SlotId Of(RangeDescriptor predecessor) => new(predecessor.Id, predecessor.Generation);

    public override string ToString() => $"{Range}@{Generation}";
}
