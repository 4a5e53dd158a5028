using System.Buffers.Binary;
using System.Text;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Hashing;

namespace StemeDb.Cluster.Tests.Hashing;

public class SubjectHasherTests
{
    private static ulong First8LittleEndian(string hex) =>
        BinaryPrimitives.ReadUInt64LittleEndian(Convert.FromHexString(hex.AsSpan(0, 16)));

    // BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input is bytes 0, 1, ..., 250, 0, 1, ... of the given length.
    [Theory]
    [InlineData(0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")]
    [InlineData(1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213")]
    [InlineData(1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11")]
    [InlineData(1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7")]
    public void Matches_the_official_BLAKE3_vectors(int length, string digestHex)
    {
        byte[] input = Enumerable.Range(0, length).Select(i => (byte)(i % 251)).ToArray();
        Assert.Equal(First8LittleEndian(digestHex), SubjectHasher.Hash(input));
    }

    // Digests from the b3sum command (the Rust reference implementation) over the UTF-8 bytes.
    [Theory]
    [InlineData("abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")]
    [InlineData("user:42", "f49f43b3fe0e798d5e9998bc25e356f2625aaa1a25a685610da8932951762a26")]
    [InlineData("na\u00efve caf\u00e9 \u2014 \u65e5\u672c\u8a9e \U0001F980", "fe7321e2177f26ea781e3f68cbd01e1b38a965357029f6e58b5e0963da2aafd1")]
    public void Hashes_ASCII_and_non_ASCII_subjects_as_BLAKE3_of_their_UTF8(string subject, string digestHex)
    {
        ulong expected = First8LittleEndian(digestHex);
        Assert.Equal(expected, SubjectHasher.Hash(subject));
        Assert.Equal(expected, SubjectHasher.Hash(Encoding.UTF8.GetBytes(subject)));
    }

    [Fact]
    public void The_abc_hash_is_the_little_endian_reading_of_the_first_eight_digest_bytes() =>
        Assert.Equal(0x33514638acb33764UL, SubjectHasher.Hash("abc"));

    [Fact]
    public void A_lone_surrogate_has_no_UTF8_form_and_is_rejected()
    {
        var error = Assert.Throws<InvalidSubjectException>(() => SubjectHasher.Hash("bad\uD800subject"));
        Assert.Contains("surrogate", error.Message);
    }

    [Fact]
    public void Long_subjects_hash_the_same_through_both_overloads()
    {
        string subject = new('\u00e9', 5000);
        Assert.Equal(SubjectHasher.Hash(Encoding.UTF8.GetBytes(subject)), SubjectHasher.Hash(subject));
    }

    // Up to one chunk the hasher runs its own single-chunk BLAKE3, past it the package's.
    [Theory]
    [InlineData(1)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(5000)]
    public void Hashes_as_the_package_on_both_sides_of_one_chunk(int length)
    {
        byte[] input = [.. Enumerable.Range(0, length).Select(i => (byte)(i * 31))];
        byte[] digest = new byte[32];
        Blake3.Hasher.Hash(input, digest);
        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(digest), SubjectHasher.Hash(input));
    }

    // ASCII strings up to one chunk are hashed from their chars, the others (longer, or not ASCII) encoded first.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1024)]
    [InlineData(1025)]
    public void Strings_hash_as_their_UTF8_ASCII_or_not(int length)
    {
        string ascii = new([.. Enumerable.Range(0, length).Select(i => (char)(32 + (i * 7 % 95)))]);
        string other = ascii + "\u00e9";
        foreach (string subject in new[] { ascii, other })
        {
            Assert.Equal(SubjectHasher.Hash(Encoding.UTF8.GetBytes(subject)), SubjectHasher.Hash(subject));
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(null, "1025 bytes")]
    public void Subject_rules_name_the_broken_rule(string? subject, string fragment)
    {
        // null stands for a subject one byte over the limit: 1024 ASCII bytes plus one 'é' (2 bytes) minus one char.
        subject ??= new string('a', 1023) + "\u00e9";
        var error = Assert.Throws<InvalidSubjectException>(() => SubjectRules.Validate(subject.AsSpan()));
        Assert.Contains(fragment, error.Message);
        error = Assert.Throws<InvalidSubjectException>(() => SubjectRules.Validate(Encoding.UTF8.GetBytes(subject)));
        Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void Malformed_UTF8_bytes_are_rejected()
    {
        var error = Assert.Throws<InvalidSubjectException>(() => SubjectRules.Validate(new byte[] { 0x61, 0xC3, 0x28 }));
        Assert.Contains("UTF-8", error.Message);
    }

    [Fact]
    public void A_subject_of_exactly_1024_bytes_is_valid()
    {
        SubjectRules.Validate(new string('x', 1024).AsSpan());
        SubjectRules.Validate(Encoding.UTF8.GetBytes(new string('x', 1024)));
    }
}
