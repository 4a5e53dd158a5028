using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using StemeDb.Cluster.Errors;

namespace StemeDb.Cluster.Hashing;

/// <summary>
/// hash(subject) = the first 8 bytes of BLAKE3(UTF-8 subject), little-endian. This is the wire
/// contract between nodes, gateways and clients in any language: it never changes.
/// </summary>
public static class SubjectHasher
{
    // Subjects are at most SubjectRules.MaxBytes of UTF-8; a UTF-16 char encodes to at most 3 bytes.
    private const int StackLimit = 1024;

    /// <summary>Hash of a subject given as UTF-8 bytes. Allocation-free.</summary>
    public static ulong Hash(ReadOnlySpan<byte> utf8Subject) =>
        // Every valid subject is one BLAKE3 chunk, hashed by Blake3Chunk in registers; the package hashes longer input.
        utf8Subject.Length <= Blake3Chunk.MaxInputBytes ? Blake3Chunk.Hash64(utf8Subject) : HashLong(utf8Subject);

    // Apart from Hash: its stack buffer would make Hash keep the span in memory, see Blake3Chunk.ChunkVector.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashLong(ReadOnlySpan<byte> utf8)
    {
        Span<byte> digest = stackalloc byte[32];
        Blake3.Hasher.Hash(utf8, digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    /// <summary>
    /// Hash of a subject given as a string. Allocation-free for subjects up to 1024 chars.
    /// Throws <see cref="InvalidSubjectException"/> for a string that is not valid UTF-16
    /// (a lone surrogate has no UTF-8 form, so it has no hash).
    /// </summary>
    public static ulong Hash(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return Hash(subject.AsSpan());
    }

    /// <inheritdoc cref="Hash(string)"/>
    public static ulong Hash(ReadOnlySpan<char> subject) =>
        TryHashAscii(subject, out ulong hash) ? hash : HashEncoded(subject);

    /// <summary>
    /// Hash of an ASCII subject of at most one BLAKE3 chunk, read straight from its chars (its UTF-8 is its
    /// chars, one byte each): the UTF-8 written by an encoder and read back at once would wait for the writes
    /// to reach the cache. False for any other subject.
    /// </summary>
    internal static bool TryHashAscii(ReadOnlySpan<char> subject, out ulong hash)
    {
        if (subject.Length <= Blake3Chunk.MaxInputBytes && Ascii.IsValid(subject))
        {
            hash = Blake3Chunk.Hash64Ascii(subject);
            return true;
        }

        hash = 0;
        return false;
    }

    // Apart from Hash, as HashLong is.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashEncoded(ReadOnlySpan<char> subject)
    {
        int max = subject.Length * 3;
        byte[]? rented = null;
        Span<byte> buffer = max <= StackLimit * 3
            ? stackalloc byte[StackLimit * 3]
            : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int written = SubjectRules.EncodeUtf8(subject, buffer);
            return Hash(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
