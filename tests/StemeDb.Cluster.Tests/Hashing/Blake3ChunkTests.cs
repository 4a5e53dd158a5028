using System.Buffers.Binary;
using System.Text;
using StemeDb.Cluster.Hashing;

namespace StemeDb.Cluster.Tests.Hashing;

/// <summary>
/// The single-chunk BLAKE3 against the official vectors and against the Blake3 package (the reference's
/// port) at every length it accepts. Both the vector and the scalar paths are checked, whatever the hardware.
/// </summary>
public class Blake3ChunkTests
{
    private delegate void HashFunction(ReadOnlySpan<byte> input, Span<byte> digest);

    public static TheoryData<string> Paths => ["dispatch", "vector", "scalar"];

    private static HashFunction PathNamed(string path) => path switch
    {
        "dispatch" => Blake3Chunk.Hash,
        "vector" => Blake3Chunk.HashVector,
        "scalar" => Blake3Chunk.HashScalar,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, null),
    };

    private static byte[] Digest(string path, ReadOnlySpan<byte> input)
    {
        byte[] digest = new byte[Blake3Chunk.DigestBytes];
        PathNamed(path)(input, digest);
        return digest;
    }

    private static byte[] PackageDigest(ReadOnlySpan<byte> input)
    {
        byte[] digest = new byte[Blake3Chunk.DigestBytes];
        Blake3.Hasher.Hash(input, digest);
        return digest;
    }

    // BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: the input is bytes 0, 1, ..., 250, 0, 1, ...
    private static byte[] VectorInput(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i % 251))];

    // The official hashes this test suite already pins (SubjectHasherTests), in full.
    [Theory]
    [InlineData(0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")]
    [InlineData(1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213")]
    [InlineData(1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11")]
    [InlineData(1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7")]
    public void Matches_the_official_vectors(int length, string digestHex)
    {
        byte[] input = VectorInput(length);
        foreach (string path in Paths)
        {
            Assert.Equal(digestHex, Convert.ToHexStringLower(Digest(path, input)));
        }

        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(Convert.FromHexString(digestHex)), Blake3Chunk.Hash64(input));
    }

    // The block edges of the official vector lengths; the expected hashes are the package's.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(1023)]
    [InlineData(1024)]
    public void Matches_the_package_at_the_official_vector_lengths(int length)
    {
        byte[] input = VectorInput(length);
        byte[] expected = PackageDigest(input);
        foreach (string path in Paths)
        {
            Assert.Equal(expected, Digest(path, input));
        }

        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(expected), Blake3Chunk.Hash64(input));
    }

    [Fact]
    public void Hashes_abc_as_the_package_does()
    {
        byte[] abc = Encoding.ASCII.GetBytes("abc");
        Assert.Equal("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85", Convert.ToHexStringLower(PackageDigest(abc)));
        foreach (string path in Paths)
        {
            Assert.Equal(PackageDigest(abc), Digest(path, abc));
        }
    }

    // Every length a chunk can hold, several random contents each: every block count, every
    // last-block length and every padding, against the package.
    [Theory]
    [MemberData(nameof(Paths))]
    public void Equals_the_package_for_every_length_up_to_a_chunk(string path)
    {
        var random = new Random(20_240_601);
        byte[] buffer = new byte[Blake3Chunk.MaxInputBytes];
        for (int length = 0; length <= Blake3Chunk.MaxInputBytes; length++)
        {
            for (int sample = 0; sample < 4; sample++)
            {
                random.NextBytes(buffer);
                ReadOnlySpan<byte> input = buffer.AsSpan(0, length);
                byte[] expected = PackageDigest(input);
                byte[] actual = Digest(path, input);
                Assert.True(
                    expected.AsSpan().SequenceEqual(actual),
                    $"length {length}, sample {sample}: expected {Convert.ToHexStringLower(expected)}, got {Convert.ToHexStringLower(actual)}");
                Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(expected), Blake3Chunk.Hash64(input));
            }
        }
    }

    // ASCII chars read as their UTF-8, every length, against the package's hash of the UTF-8.
    [Fact]
    public void Hashes_ASCII_chars_as_the_package_hashes_their_UTF8_for_every_length_up_to_a_chunk()
    {
        var random = new Random(20_240_602);
        byte[] utf8 = new byte[Blake3Chunk.MaxInputBytes];
        char[] chars = new char[Blake3Chunk.MaxInputBytes];
        for (int length = 0; length <= Blake3Chunk.MaxInputBytes; length++)
        {
            for (int sample = 0; sample < 4; sample++)
            {
                for (int i = 0; i < length; i++)
                {
                    utf8[i] = (byte)random.Next(128);
                    chars[i] = (char)utf8[i];
                }

                ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(PackageDigest(utf8.AsSpan(0, length)));
                Assert.Equal(expected, Blake3Chunk.Hash64Ascii(chars.AsSpan(0, length)));
                Assert.Equal(expected, Blake3Chunk.Hash64AsciiScalar(chars.AsSpan(0, length)));
            }
        }
    }

    // Only the input's bytes count: what lies past its end in memory must not leak into the hash.
    [Fact]
    public void Ignores_the_bytes_after_the_input()
    {
        byte[] zeros = new byte[100];
        byte[] ones = [.. Enumerable.Repeat((byte)0xFF, 100)];
        foreach (string path in Paths)
        {
            for (int length = 0; length <= 70; length++)
            {
                zeros.AsSpan(0, length).Fill(7);
                ones.AsSpan(0, length).Fill(7);
                Assert.Equal(Digest(path, zeros.AsSpan(0, length)), Digest(path, ones.AsSpan(0, length)));
            }
        }
    }

    [Fact]
    public void Refuses_more_than_a_chunk_and_a_short_digest()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Blake3Chunk.Hash64(new byte[Blake3Chunk.MaxInputBytes + 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Blake3Chunk.Hash(new byte[Blake3Chunk.MaxInputBytes + 1], new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Blake3Chunk.Hash(new byte[3], new byte[31]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Blake3Chunk.Hash64Ascii(new string('a', Blake3Chunk.MaxInputBytes + 1)));
    }
}
