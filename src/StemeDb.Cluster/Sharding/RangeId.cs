using System.Buffers.Binary;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// A range's identity. A split keeps the parent's id on the left half and derives the right half's id,
/// so two nodes proposing the same split compute the same ids without coordinating.
/// </summary>
public readonly record struct RangeId(ulong Value) : IComparable<RangeId>
{
    /// <summary>The id of the first range of a new cluster.</summary>
    public static RangeId Genesis => new(1);

    /// <summary>A new id from the parent, the generation it is created at and its start shard.</summary>
    public static RangeId Derive(RangeId parent, long generation, int startShard)
    {
        Span<byte> input = stackalloc byte[20];
        BinaryPrimitives.WriteUInt64LittleEndian(input, parent.Value);
        BinaryPrimitives.WriteInt64LittleEndian(input[8..], generation);
        BinaryPrimitives.WriteInt32LittleEndian(input[16..], startShard);
        Span<byte> digest = stackalloc byte[32];
        Blake3.Hasher.Hash(input, digest);
        return new RangeId(BinaryPrimitives.ReadUInt64LittleEndian(digest));
    }

    public int CompareTo(RangeId other) => Value.CompareTo(other.Value);

    public override string ToString() => Value.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
