using System.Collections.Immutable;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// One range: the shards <c>[StartShard, EndShard)</c>, its ordered replicas (the first live one leads),
/// the generation (+1 on every split, merge and replica change), the HLC time of that change and the
/// node that proposed it. Immutable: a change is a new descriptor with a higher generation.
/// </summary>
public sealed record RangeDescriptor
{
    public RangeDescriptor(
        RangeId id,
        int startShard,
        int endShard,
        ImmutableArray<NodeId> replicas,
        long generation,
        HlcTimestamp timestamp,
        NodeId proposer)
    {
        if (startShard < 0 || endShard <= startShard)
        {
            throw new InvalidDescriptorException(
                $"Range {id} has span [{startShard}, {endShard}); a span needs 0 <= start < end.");
        }

        if (replicas.IsDefaultOrEmpty)
        {
            throw new InvalidDescriptorException($"Range {id} has no replicas; it needs at least one.");
        }

        for (int i = 0; i < replicas.Length; i++)
        {
            if (replicas[i].Value is null)
            {
                throw new InvalidDescriptorException($"Range {id} has an empty replica id at position {i}.");
            }

            for (int j = 0; j < i; j++)
            {
                if (replicas[i] == replicas[j])
                {
                    throw new InvalidDescriptorException($"Range {id} lists replica {replicas[i]} twice.");
                }
            }
        }

        if (generation < 0)
        {
            throw new InvalidDescriptorException($"Range {id} has generation {generation}; generations start at 0.");
        }

        if (proposer.Value is null)
        {
            throw new InvalidDescriptorException($"Range {id} has no proposer.");
        }

        Id = id;
        StartShard = startShard;
        EndShard = endShard;
        Replicas = replicas;
        Generation = generation;
        Timestamp = timestamp;
        Proposer = proposer;
    }

    public RangeId Id { get; }

    public int StartShard { get; }

    public int EndShard { get; }

    public ImmutableArray<NodeId> Replicas { get; }

    public long Generation { get; }

    public HlcTimestamp Timestamp { get; }

    public NodeId Proposer { get; }

    public int ShardCount => EndShard - StartShard;

    public bool Contains(int shard) => shard >= StartShard && shard < EndShard;

    public bool Overlaps(RangeDescriptor other) => StartShard < other.EndShard && other.StartShard < EndShard;

    /// <summary>True when both list the same nodes, in any order (the condition for a merge).</summary>
    public bool HasSameReplicaSet(RangeDescriptor other)
    {
        if (Replicas.Length != other.Replicas.Length)
        {
            return false;
        }

        foreach (NodeId node in Replicas)
        {
            if (!other.Replicas.Contains(node))
            {
                return false;
            }
        }

        return true;
    }

    // Value equality must compare the replica lists element by element, not the array references.
    public bool Equals(RangeDescriptor? other) =>
        other is not null &&
        (ReferenceEquals(this, other) || DescriptorOrder.Compare(this, other) == 0);

    public override int GetHashCode()
    {
        HashCode hash = default;
        hash.Add(Id);
        hash.Add(StartShard);
        hash.Add(EndShard);
        hash.Add(Generation);
        hash.Add(Timestamp);
        hash.Add(Proposer);
        foreach (NodeId node in Replicas)
        {
            hash.Add(node);
        }

        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"range {Id} [{StartShard}, {EndShard}) gen {Generation} replicas [{string.Join(", ", Replicas)}] at {Timestamp} by {Proposer}";
}
