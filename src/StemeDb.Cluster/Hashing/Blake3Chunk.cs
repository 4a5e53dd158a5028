using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace StemeDb.Cluster.Hashing;

/// <summary>
/// BLAKE3 in its default mode (no key, no key derivation) of an input of at most one chunk (1024 bytes),
/// written from the BLAKE3 specification. Subjects are never longer than a chunk, and a lone chunk is the
/// root of its tree: its blocks are compressed in order, the last one with ROOT, and the first 8 words of
/// that output are the 32-byte hash; there is no tree and no chaining-value stack. A block's compression is
/// a chain of about 170 dependent instructions, so the vector path keeps that chain short (CompressVector)
/// and keeps the input out of memory round trips, which let the next hash start before this one ends
/// (ChunkVector, LoadPadded). Allocation-free.
/// </summary>
internal static class Blake3Chunk
{
    /// <summary>The longest input: one BLAKE3 chunk.</summary>
    public const int MaxInputBytes = 1024;

    public const int DigestBytes = 32;

    private const int BlockBytes = 64;

    // Domain flags (specification, table 3). The chunk counter is always 0: there is only chunk 0.
    private const uint ChunkStart = 1;
    private const uint ChunkEnd = 2;
    private const uint Root = 8;

    // IV: SHA-256's initial hash words.
    private const uint Iv0 = 0x6A09E667;
    private const uint Iv1 = 0xBB67AE85;
    private const uint Iv2 = 0x3C6EF372;
    private const uint Iv3 = 0xA54FF53A;
    private const uint Iv4 = 0x510E527F;
    private const uint Iv5 = 0x9B05688C;
    private const uint Iv6 = 0x1F83D9AB;
    private const uint Iv7 = 0x5BE0CD19;

    // The vector path reads message words and writes digests in memory order, which is BLAKE3's
    // little-endian order only on a little-endian machine.
    private static bool UseVectors => Vector128.IsHardwareAccelerated && BitConverter.IsLittleEndian;

    /// <summary>The first 8 bytes of BLAKE3(<paramref name="input"/>), read little-endian.</summary>
    public static ulong Hash64(ReadOnlySpan<byte> input)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(input.Length, MaxInputBytes, nameof(input));
        if (UseVectors)
        {
            ChunkVector<Bytes>(ref MemoryMarshal.GetReference(input), input.Length, out Vector128<uint> low, out _);
            return low.AsUInt64().ToScalar();
        }

        return Hash64Scalar(input);
    }

    /// <summary>
    /// The first 8 bytes of BLAKE3 of the UTF-8 form of <paramref name="ascii"/>, which must be ASCII: its
    /// UTF-8 is then its chars, one byte each, read straight from the chars with no encoding into memory.
    /// </summary>
    public static ulong Hash64Ascii(ReadOnlySpan<char> ascii)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ascii.Length, MaxInputBytes, nameof(ascii));
        Debug.Assert(Ascii.IsValid(ascii), "Hash64Ascii takes ASCII only.");
        if (UseVectors)
        {
            ref byte chars = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(ascii));
            ChunkVector<AsciiChars>(ref chars, ascii.Length, out Vector128<uint> low, out _);
            return low.AsUInt64().ToScalar();
        }

        return Hash64AsciiScalar(ascii);
    }

    /// <summary>The scalar path of <see cref="Hash64Ascii"/>, whatever the hardware (for tests).</summary>
    internal static ulong Hash64AsciiScalar(ReadOnlySpan<char> ascii)
    {
        Span<byte> utf8 = stackalloc byte[MaxInputBytes];
        int length = Encoding.ASCII.GetBytes(ascii, utf8);
        return Hash64Scalar(utf8[..length]);
    }

    // Apart, so that Hash64 has no stack buffer to guard.
    private static ulong Hash64Scalar(ReadOnlySpan<byte> input)
    {
        Span<byte> digest = stackalloc byte[DigestBytes];
        HashScalar(input, digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    /// <summary>Writes the 32-byte BLAKE3(<paramref name="input"/>) to <paramref name="digest"/>.</summary>
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> digest)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(input.Length, MaxInputBytes, nameof(input));
        ArgumentOutOfRangeException.ThrowIfLessThan(digest.Length, DigestBytes, nameof(digest));
        if (UseVectors)
        {
            HashVector(input, digest);
        }
        else
        {
            HashScalar(input, digest);
        }
    }

    /// <summary>The vector path, whatever the hardware (for tests; callers use <see cref="Hash"/>).</summary>
    internal static void HashVector(ReadOnlySpan<byte> input, Span<byte> digest)
    {
        ChunkVector<Bytes>(ref MemoryMarshal.GetReference(input), input.Length, out Vector128<uint> low, out Vector128<uint> high);
        low.AsByte().CopyTo(digest);
        high.AsByte().CopyTo(digest[16..]);
    }

    /// <summary>The scalar path, whatever the hardware (for tests; callers use <see cref="Hash"/>).</summary>
    internal static void HashScalar(ReadOnlySpan<byte> input, Span<byte> digest)
    {
        Span<uint> cv = [Iv0, Iv1, Iv2, Iv3, Iv4, Iv5, Iv6, Iv7];
        Span<uint> message = stackalloc uint[16];
        Span<uint> state = stackalloc uint[16];
        int lastOffset = LastBlockOffset(input.Length);
        uint flags = ChunkStart;
        for (int offset = 0; offset < lastOffset; offset += BlockBytes)
        {
            ReadWords(input.Slice(offset, BlockBytes), message);
            CompressScalar(cv, message, state, BlockBytes, flags);
            flags = 0;
        }

        // The last block is zero-padded; its real length goes into the compression.
        Span<byte> last = stackalloc byte[BlockBytes];
        last.Clear();
        input[lastOffset..].CopyTo(last);
        ReadWords(last, message);
        CompressScalar(cv, message, state, (uint)(input.Length - lastOffset), flags | ChunkEnd | Root);
        for (int i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(digest[(i * 4)..], cv[i]);
        }
    }

    // Every block but the last is full; the empty input is one empty last block.
    private static int LastBlockOffset(int length) => length == 0 ? 0 : (length - 1) / BlockBytes * BlockBytes;

    private static void ReadWords(ReadOnlySpan<byte> block, Span<uint> words)
    {
        for (int i = 0; i < 16; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        }
    }

    // The compression function as the specification states it: state words 0..15, G on the columns then
    // the diagonals, the message permuted between rounds. The output's first 8 words replace the chaining value.
    private static void CompressScalar(Span<uint> cv, Span<uint> m, Span<uint> v, uint blockLength, uint flags)
    {
        cv.CopyTo(v);
        v[8] = Iv0;
        v[9] = Iv1;
        v[10] = Iv2;
        v[11] = Iv3;
        v[12] = 0; // counter, low word
        v[13] = 0; // counter, high word
        v[14] = blockLength;
        v[15] = flags;
        for (int round = 0; round < 7; round++)
        {
            G(v, 0, 4, 8, 12, m[0], m[1]);
            G(v, 1, 5, 9, 13, m[2], m[3]);
            G(v, 2, 6, 10, 14, m[4], m[5]);
            G(v, 3, 7, 11, 15, m[6], m[7]);
            G(v, 0, 5, 10, 15, m[8], m[9]);
            G(v, 1, 6, 11, 12, m[10], m[11]);
            G(v, 2, 7, 8, 13, m[12], m[13]);
            G(v, 3, 4, 9, 14, m[14], m[15]);
            if (round < 6)
            {
                Permute(m);
            }
        }

        for (int i = 0; i < 8; i++)
        {
            cv[i] = v[i] ^ v[i + 8];
        }
    }

    private static void G(Span<uint> v, int a, int b, int c, int d, uint mx, uint my)
    {
        v[a] = v[a] + v[b] + mx;
        v[d] = uint.RotateRight(v[d] ^ v[a], 16);
        v[c] = v[c] + v[d];
        v[b] = uint.RotateRight(v[b] ^ v[c], 12);
        v[a] = v[a] + v[b] + my;
        v[d] = uint.RotateRight(v[d] ^ v[a], 8);
        v[c] = v[c] + v[d];
        v[b] = uint.RotateRight(v[b] ^ v[c], 7);
    }

    // The specification's message permutation, applied between rounds: m'[i] = m[MessagePermutation[i]].
    private static ReadOnlySpan<byte> MessagePermutation => [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

    private static void Permute(Span<uint> m)
    {
        Span<uint> old = stackalloc uint[16];
        m.CopyTo(old);
        for (int i = 0; i < 16; i++)
        {
            m[i] = old[MessagePermutation[i]];
        }
    }

    // The input as a reference and a length, not a span: passed on as a span, it was copied through the stack
    // as two 8-byte writes read back as one 16-byte read, which waits for the writes to reach the cache instead
    // of being forwarded from them, and so for the previous hash to finish: no two hashes overlapped.
    // TInput reads the input as UTF-8 bytes: its own bytes, or ASCII chars narrowed to bytes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ChunkVector<TInput>(ref byte data, int length, out Vector128<uint> low, out Vector128<uint> high)
        where TInput : IInput
    {
        low = Vector128.Create(Iv0, Iv1, Iv2, Iv3);
        high = Vector128.Create(Iv4, Iv5, Iv6, Iv7);
        int lastOffset = LastBlockOffset(length);
        uint flags = ChunkStart;
        for (int offset = 0; offset < lastOffset; offset += BlockBytes)
        {
            low = CompressVector(
                low,
                high,
                TInput.Load16(ref data, offset),
                TInput.Load16(ref data, offset + 16),
                TInput.Load16(ref data, offset + 32),
                TInput.Load16(ref data, offset + 48),
                BlockBytes,
                flags,
                out high);
            flags = 0;
        }

        low = CompressVector(
            low,
            high,
            LoadPadded<TInput>(ref data, length, lastOffset),
            LoadPadded<TInput>(ref data, length, lastOffset + 16),
            LoadPadded<TInput>(ref data, length, lastOffset + 32),
            LoadPadded<TInput>(ref data, length, lastOffset + 48),
            (uint)(length - lastOffset),
            flags | ChunkEnd | Root,
            out high);
    }

    // The 16 input bytes from start, zero-padded past the input's end, read straight into a register: a
    // padded copy in memory would be written piecemeal and read whole, and such a read waits for the writes
    // to reach the cache instead of being forwarded from them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> LoadPadded<TInput>(ref byte data, int length, int start)
        where TInput : IInput
    {
        int available = length - start;
        if (available >= 16)
        {
            return TInput.Load16(ref data, start);
        }

        if (available <= 0)
        {
            return Vector128<byte>.Zero;
        }

        if (length >= 16)
        {
            // The input's last 16 bytes, moved down so that byte start comes first; Shuffle zeroes the lanes
            // whose index is past 15, which are the ones past the input's end.
            Vector128<byte> end = TInput.Load16(ref data, length - 16);
            return Vector128.Shuffle(end, Vector128<byte>.Indices + Vector128.Create((byte)(16 - available)));
        }

        // An input of less than 16 bytes: start is 0, and there are no 16 bytes to load.
        ulong lower = 0;
        ulong upper = 0;
        for (int i = 0; i < available; i++)
        {
            if (i < 8)
            {
                lower |= (ulong)TInput.At(ref data, i) << (8 * i);
            }
            else
            {
                upper |= (ulong)TInput.At(ref data, i) << (8 * (i - 8));
            }
        }

        return Vector128.Create(lower, upper).AsByte();
    }

    // How the vector path reads input byte i of the UTF-8 to hash, and the 16 from start.
    private interface IInput
    {
        static abstract Vector128<byte> Load16(ref byte data, int start);

        static abstract byte At(ref byte data, int index);
    }

    // UTF-8 bytes as they are.
    private readonly struct Bytes : IInput
    {
        public static Vector128<byte> Load16(ref byte data, int start) => Vector128.LoadUnsafe(ref data, (nuint)start);

        public static byte At(ref byte data, int index) => Unsafe.Add(ref data, index);
    }

    // ASCII chars: byte i is char i, narrowed (exact, as every char is below 128).
    private readonly struct AsciiChars : IInput
    {
        public static Vector128<byte> Load16(ref byte data, int start)
        {
            ref ushort chars = ref Unsafe.As<byte, ushort>(ref data);
            return Vector128.Narrow(
                Vector128.LoadUnsafe(ref chars, (nuint)start), Vector128.LoadUnsafe(ref chars, (nuint)start + 8));
        }

        public static byte At(ref byte data, int index) => (byte)Unsafe.Add(ref Unsafe.As<byte, ushort>(ref data), index);
    }

    // The 4x4 state as four rows: a = v0..v3, b = v4..v7, c = v8..v11, d = v12..v15. One vector G runs the
    // four column Gs at once. For the diagonal Gs, rows a, c and d turn by a lane so that every lane holds
    // one diagonal: lane i holds v(4+i) of row b and the rest of its diagonal. Row b never moves because it
    // is the last value each G computes, so a shuffle of b would lengthen the chain every round waits on;
    // a, c and d are ready earlier and turn while b is still being computed. The block is words 0..3, 4..7,
    // 8..11 and 12..15, little-endian (callers check BitConverter.IsLittleEndian).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<uint> CompressVector(
        Vector128<uint> low,
        Vector128<uint> high,
        Vector128<byte> block0,
        Vector128<byte> block16,
        Vector128<byte> block32,
        Vector128<byte> block48,
        uint blockLength,
        uint flags,
        out Vector128<uint> newHigh)
    {
        Vector128<uint> w0 = block0.AsUInt32();
        Vector128<uint> w4 = block16.AsUInt32();
        Vector128<uint> w8 = block32.AsUInt32();
        Vector128<uint> w12 = block48.AsUInt32();

        // The message as the rounds take it: column x = m0, m2, m4, m6; column y = m1, m3, m5, m7; and, in the
        // diagonal lanes' order, diagonal x = m14, m8, m10, m12; diagonal y = m15, m9, m11, m13.
        Vector128<uint> lanes23 = Vector128.Create(0, 0, ~0u, ~0u);
        Vector128<uint> lanes03 = Vector128.Create(~0u, 0, 0, ~0u);
        Vector128<uint> columnX = Vector128.ConditionalSelect(lanes23, w4.Shuffle(0, 2, 0, 2), w0.Shuffle(0, 2, 0, 2));
        Vector128<uint> columnY = Vector128.ConditionalSelect(lanes23, w4.Shuffle(1, 3, 1, 3), w0.Shuffle(1, 3, 1, 3));
        Vector128<uint> diagonalX = Vector128.ConditionalSelect(lanes03, w12.Shuffle(2, 2, 2, 0), w8.Shuffle(0, 0, 2, 0));
        Vector128<uint> diagonalY = Vector128.ConditionalSelect(lanes03, w12.Shuffle(3, 3, 3, 1), w8.Shuffle(1, 1, 3, 1));

        Vector128<uint> a = low;
        Vector128<uint> b = high;
        Vector128<uint> c = Vector128.Create(Iv0, Iv1, Iv2, Iv3);
        Vector128<uint> d = Vector128.Create(0, 0, blockLength, flags); // counter 0, block length, flags
        for (int round = 0; ; round++)
        {
            G(ref a, b, ref c, ref d, columnX, columnY, out b);

            // (v3, v0, v1, v2), (v9, v10, v11, v8), (v14, v15, v12, v13): lane 0 is the diagonal v3, v4, v9, v14.
            a = a.Shuffle(3, 0, 1, 2);
            c = c.Shuffle(1, 2, 3, 0);
            d = d.Shuffle(2, 3, 0, 1);
            G(ref a, b, ref c, ref d, diagonalX, diagonalY, out b);
            a = a.Shuffle(1, 2, 3, 0);
            c = c.Shuffle(3, 0, 1, 2);
            d = d.Shuffle(2, 3, 0, 1);
            if (round == 6)
            {
                break;
            }

            PermuteMessage(ref columnX, ref columnY, ref diagonalX, ref diagonalY);
        }

        newHigh = b ^ d;
        return a ^ c;
    }

    // The specification's permutation of the 16 message words, as moves of lanes between the four vectors
    // above. Worked out from m'[i] = m[MessagePermutation[i]] and the lane order above, the next round's lanes
    // come from this round's as follows (vector.lane):
    //   column x   = cx.1 cy.1 cy.3 cx.2
    //   column y   = cx.3 dx.2 cx.0 dy.3
    //   diagonal x = dy.0 cy.0 dx.3 dy.1
    //   diagonal y = dx.1 dy.2 cy.2 dx.0
    // Each lane is one shuffle and one select, and none waits on the state.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PermuteMessage(
        ref Vector128<uint> cx, ref Vector128<uint> cy, ref Vector128<uint> dx, ref Vector128<uint> dy)
    {
        Vector128<uint> lane1 = Vector128.Create(0, ~0u, 0, 0);
        Vector128<uint> lane2 = Vector128.Create(0, 0, ~0u, 0);
        Vector128<uint> lane3 = Vector128.Create(0, 0, 0, ~0u);
        Vector128<uint> lanes12 = lane1 | lane2;
        Vector128<uint> columnX = Vector128.ConditionalSelect(lanes12, cy.Shuffle(1, 1, 3, 3), cx.Shuffle(1, 1, 2, 2));
        Vector128<uint> columnY = Vector128.ConditionalSelect(
            lane1, dx.Shuffle(2, 2, 2, 2), Vector128.ConditionalSelect(lane3, dy, cx.Shuffle(3, 3, 0, 0)));
        Vector128<uint> diagonalX = Vector128.ConditionalSelect(
            lane1, cy.Shuffle(0, 0, 0, 0), Vector128.ConditionalSelect(lane2, dx.Shuffle(3, 3, 3, 3), dy.Shuffle(0, 0, 1, 1)));
        Vector128<uint> diagonalY = Vector128.ConditionalSelect(
            lane1, dy.Shuffle(2, 2, 2, 2), Vector128.ConditionalSelect(lane2, cy, dx.Shuffle(1, 1, 0, 0)));
        cx = columnX;
        cy = columnY;
        dx = diagonalX;
        dy = diagonalY;
    }

    // Lane i of the result is lane ii of x; a constant shuffle is one instruction (pshufd, or tbl).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Shuffle(this Vector128<uint> x, byte i0, byte i1, byte i2, byte i3) =>
        Vector128.Shuffle(x, Vector128.Create(i0, i1, i2, (uint)i3));

    // a + mx is added before b: a is ready well before b, so only one add waits on b.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(
        ref Vector128<uint> a, Vector128<uint> b, ref Vector128<uint> c, ref Vector128<uint> d,
        Vector128<uint> mx, Vector128<uint> my, out Vector128<uint> newB)
    {
        a = a + mx + b;
        d = RotateRight16(d ^ a);
        c += d;
        b = RotateRight(b ^ c, 12);
        a = a + my + b;
        d = RotateRight8(d ^ a);
        c += d;
        newB = RotateRight(b ^ c, 7);
    }

    // Rotations by whole bytes are one byte shuffle (pshufb, tbl) instead of two shifts and an or.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> RotateRight16(Vector128<uint> x) =>
        Vector128.Shuffle(x.AsByte(), Vector128.Create((byte)2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> RotateRight8(Vector128<uint> x) =>
        Vector128.Shuffle(x.AsByte(), Vector128.Create((byte)1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12)).AsUInt32();

    // The other two rotations: one instruction with AVX-512 (vprord), else two shifts and an or. They are on
    // the chain every round waits on, so the one instruction takes a sixth off a hash (94 -> 75 ns here).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> RotateRight(Vector128<uint> x, [ConstantExpected(Min = 1, Max = 31)] byte bits) =>
        Avx512F.VL.IsSupported
            ? Avx512F.VL.RotateRight(x, bits)
            : Vector128.ShiftRightLogical(x, bits) | Vector128.ShiftLeft(x, 32 - bits);
}
