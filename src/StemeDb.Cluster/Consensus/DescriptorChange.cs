using System.Collections.Immutable;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Cluster.Consensus;

/// <summary>
/// The value the consensus decides: the descriptors a change replaces (each one a slot) and the
/// descriptors it creates. A split, replica change, leader move or renewal replaces one descriptor; a merge
/// replaces two adjacent ones and is decided in each of their slots, right to left (see
/// <see cref="ChangeOrchestration"/>). Equality is by content, so a change carried by another proposer is
/// recognised as the same change.
/// </summary>
public sealed record DescriptorChange
{
    public DescriptorChange(RangeChangeKind kind, ImmutableArray<RangeDescriptor> replaces, ImmutableArray<RangeDescriptor> creates)
    {
        if (replaces.IsDefaultOrEmpty || creates.IsDefaultOrEmpty)
        {
            throw new ArgumentException("A change replaces at least one descriptor and creates at least one.");
        }

        // The created descriptors must cover exactly what the replaced ones covered, one generation on.
        int start = replaces.Min(d => d.StartShard);
        int end = replaces.Max(d => d.EndShard);
        if (replaces.Sum(d => d.ShardCount) != end - start || creates.Sum(d => d.ShardCount) != end - start
            || creates.Min(d => d.StartShard) != start || creates.Max(d => d.EndShard) != end)
        {
            throw new ArgumentException($"A change must create descriptors for exactly the span [{start}, {end}) it replaces.");
        }

        long generation = replaces.Max(d => d.Generation) + 1;
        if (creates.Any(d => d.Generation != generation))
        {
            throw new ArgumentException($"The descriptors a change creates have generation {generation} (one above the highest it replaces).");
        }

        Kind = kind;
        Replaces = [.. replaces.OrderByDescending(d => d.StartShard)];
        Creates = [.. creates.OrderBy(d => d.StartShard)];
    }

    public RangeChangeKind Kind { get; }

    /// <summary>The descriptors replaced, in the order their slots are decided: right to left.</summary>
    public ImmutableArray<RangeDescriptor> Replaces { get; }

    /// <summary>The new descriptors, in shard order.</summary>
    public ImmutableArray<RangeDescriptor> Creates { get; }

    public int SlotCount => Replaces.Length;

    public SlotId SlotAt(int index) => SlotId.Of(Replaces[index]);

    /// <summary>The position of <paramref name="slot"/> among this change's slots, or -1.</summary>
    public int IndexOf(SlotId slot)
    {
        for (int i = 0; i < Replaces.Length; i++)
        {
            if (SlotId.Of(Replaces[i]) == slot)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// A change that keeps the range as it is, one generation on: what a replica proposes to end a slot
    /// whose proposer vanished after promises, so that the fenced range serves again.
    /// </summary>
    public static DescriptorChange Renew(RangeDescriptor current, Time.HlcTimestamp now, Membership.NodeId proposer) =>
        new(RangeChangeKind.Renew, [current], [new RangeDescriptor(current.Id, current.StartShard, current.EndShard, current.Replicas, current.Generation + 1, now, proposer)]);

    /// <summary>
    /// The successor of <paramref name="slotDescriptor"/> when it chose <paramref name="abandoned"/>, a
    /// merge that another of its slots refused: the same range one generation on. Derived from the abandoned
    /// change alone, so every node that learns the same outcome computes the same descriptor.
    /// </summary>
    public static RangeDescriptor Abandoned(RangeDescriptor slotDescriptor, DescriptorChange abandoned)
    {
        RangeDescriptor first = abandoned.Creates[0];
        return new RangeDescriptor(slotDescriptor.Id, slotDescriptor.StartShard, slotDescriptor.EndShard, slotDescriptor.Replicas, slotDescriptor.Generation + 1, first.Timestamp, first.Proposer);
    }

    public bool Equals(DescriptorChange? other) =>
        other is not null &&
        (ReferenceEquals(this, other) ||
         (Kind == other.Kind && Replaces.SequenceEqual(other.Replaces) && Creates.SequenceEqual(other.Creates)));

    public override int GetHashCode()
    {
        HashCode hash = default;
        hash.Add(Kind);
        foreach (RangeDescriptor d in Replaces)
        {
            hash.Add(d);
        }

        foreach (RangeDescriptor d in Creates)
        {
            hash.Add(d);
        }

        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"{Kind}: [{string.Join("; ", Replaces)}] → [{string.Join("; ", Creates)}]";
}
