using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Chooses a range's replicas so that as little data as possible moves: live replicas stay, in order,
/// missing ones are filled by rendezvous (highest-random-weight) hashing of the range id over live members,
/// and dead ones stay (last) while no live member can replace them. Every node computes the same choice.
/// </summary>
public static class ReplicaPlacement
{
    public static ImmutableArray<NodeId> Choose(
        RangeId range,
        ImmutableArray<NodeId> current,
        IReadOnlySet<NodeId> live,
        int replicationFactor)
    {
        ArgumentNullException.ThrowIfNull(live);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ImmutableArray<NodeId>.Builder chosen = ImmutableArray.CreateBuilder<NodeId>(replicationFactor);
        foreach (NodeId node in current)
        {
            if (live.Contains(node) && chosen.Count < replicationFactor)
            {
                chosen.Add(node);
            }
        }

        if (chosen.Count < replicationFactor)
        {
            IEnumerable<NodeId> candidates = live
                .Where(n => !chosen.Contains(n))
                .OrderByDescending(n => Score(range, n))
                .ThenBy(n => n);
            foreach (NodeId node in candidates)
            {
                if (chosen.Count == replicationFactor)
                {
                    break;
                }

                chosen.Add(node);
            }
        }

        // Never shrink below the factor for want of live nodes: a dead replica stays listed (and counted in
        // the write quorum) until a live one can take its place, or a majority of a shrunken list could
        // acknowledge a write that one more failure would lose.
        foreach (NodeId node in current)
        {
            if (chosen.Count < replicationFactor && !chosen.Contains(node))
            {
                chosen.Add(node);
            }
        }

        // Same members: keep the order too (the router already skips dead ones; a reorder would be churn).
        if (chosen.Count == current.Length && current.All(chosen.Contains))
        {
            return current;
        }

        return chosen.DrainToImmutable();
    }

    /// <summary>The rendezvous weight of a node for a range: BLAKE3(range id ‖ node id), first 8 bytes.</summary>
    public static ulong Score(RangeId range, NodeId node)
    {
        Span<byte> input = stackalloc byte[8 + (NodeId.MaxLength * 3)];
        BinaryPrimitives.WriteUInt64LittleEndian(input, range.Value);
        int length = 8 + Encoding.UTF8.GetBytes(node.Value, input[8..]);
        Span<byte> digest = stackalloc byte[32];
        Blake3.Hasher.Hash(input[..length], digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }
}
