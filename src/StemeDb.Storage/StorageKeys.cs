using System.Buffers.Binary;
using System.Text;

using StemeDb.Contracts;

namespace StemeDb.Storage;

/// <summary>
/// The key layout. Data keys start with the shard, big-endian, so a range of shards is one contiguous key
/// span (export, import and delete of a range are one scan or one range delete):
/// <code>
/// data: shard (u32 BE) | subject length (u16 BE) | subject (UTF-8) | kind ('A' assertion, 'R' retraction) | id (32)
/// meta: 0xFF | 'S' | shard (u32 BE)  → bytes stored in the shard (i64 LE)
/// meta: 0xFF | kind | key            → the node's own records (<see cref="MetaKind"/>)
/// </code>
/// Shards are below 2^20, so a data key never starts with 0xFF.
/// </summary>
internal static class StorageKeys
{
    public const byte AssertionKind = (byte)'A';
    public const byte RetractionKind = (byte)'R';
    private const byte MetaTag = 0xFF;
    private const byte SizeTag = (byte)'S';

    public static byte[] ShardStart(int shard)
    {
        byte[] key = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(key, (uint)shard);
        return key;
    }

    /// <summary>Every key of <paramref name="subject"/>: the prefix of its assertions and retractions.</summary>
    public static byte[] SubjectPrefix(int shard, string subject)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(subject);
        byte[] key = new byte[6 + utf8.Length];
        BinaryPrimitives.WriteUInt32BigEndian(key, (uint)shard);
        BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan(4), (ushort)utf8.Length);
        utf8.CopyTo(key, 6);
        return key;
    }

    public static byte[] Record(int shard, string subject, byte kind, AssertionId id)
    {
        byte[] prefix = SubjectPrefix(shard, subject);
        byte[] key = new byte[prefix.Length + 1 + AssertionId.Bytes];
        prefix.CopyTo(key, 0);
        key[prefix.Length] = kind;
        id.Span.CopyTo(key.AsSpan(prefix.Length + 1));
        return key;
    }

    public static byte[] Meta(MetaKind kind, ReadOnlySpan<byte> key)
    {
        byte[] full = new byte[2 + key.Length];
        full[0] = MetaTag;
        full[1] = (byte)kind;
        key.CopyTo(full.AsSpan(2));
        return full;
    }

    public static byte[] Size(int shard)
    {
        byte[] key = new byte[6];
        key[0] = MetaTag;
        key[1] = SizeTag;
        BinaryPrimitives.WriteUInt32BigEndian(key.AsSpan(2), (uint)shard);
        return key;
    }

    public static bool IsSize(ReadOnlySpan<byte> key, out int shard)
    {
        shard = -1;
        if (key.Length != 6 || key[0] != MetaTag || key[1] != SizeTag)
        {
            return false;
        }

        shard = (int)BinaryPrimitives.ReadUInt32BigEndian(key[2..]);
        return true;
    }

    /// <summary>Splits a data key; false for anything that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> key, out int shard, out string subject, out byte kind, out AssertionId id)
    {
        shard = -1;
        subject = string.Empty;
        kind = 0;
        id = default;
        if (key.Length < 6 + 1 + AssertionId.Bytes || key[0] == MetaTag)
        {
            return false;
        }

        shard = (int)BinaryPrimitives.ReadUInt32BigEndian(key);
        int length = BinaryPrimitives.ReadUInt16BigEndian(key[4..]);
        if (key.Length != 6 + length + 1 + AssertionId.Bytes)
        {
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(key.Slice(6, length)))
        {
            return false;
        }

        subject = Encoding.UTF8.GetString(key.Slice(6, length));
        kind = key[6 + length];
        id = new AssertionId(key[(7 + length)..]);
        return kind is AssertionKind or RetractionKind;
    }
}
