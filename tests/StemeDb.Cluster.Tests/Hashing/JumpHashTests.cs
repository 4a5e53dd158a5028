using StemeDb.Cluster.Hashing;

namespace StemeDb.Cluster.Tests.Hashing;

public class JumpHashTests
{
    // dgryski/go-jump jump_test.go, "generated from the reference C++ code": bucket[i] is Hash(key, i + 1).
    public static TheoryData<ulong, int[]> GoJumpRows => new()
    {
        { 0UL, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
        { 1UL, [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17] },
        { 0xdeadbeefUL, [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16] },
        { 0x0ddc0ffeebadf00dUL, [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15] },
    };

    [Theory]
    [MemberData(nameof(GoJumpRows))]
    public void Matches_the_go_jump_vectors(ulong key, int[] expected)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], JumpHash.Hash(key, i + 1));
        }
    }

    // lithammer/go-jump-consistent-hash, ClickHouse 00580 and Guava's HashingTest.
    [Theory]
    [InlineData(1UL, 1, 0)]
    [InlineData(42UL, 57, 43)]
    [InlineData(256UL, 1024, 520)]
    [InlineData(0xDEAD10CCUL, 1, 0)]
    [InlineData(0xDEAD10CCUL, 666, 361)]
    [InlineData(0xDEADBEEFDEADBEEFUL, 255, 237)]
    [InlineData(1UL, 100, 55)]
    [InlineData(2UL, 100, 62)]
    [InlineData(3UL, 100, 8)]
    [InlineData(4UL, 100, 45)]
    [InlineData(5UL, 100, 59)]
    [InlineData(1UL, 18, 17)]
    [InlineData(0xdeadbeefUL, 17, 16)]
    [InlineData(0x0ddc0ffeebadf00dUL, 16, 15)]
    public void Matches_the_published_single_vectors(ulong key, int buckets, int expected) =>
        Assert.Equal(expected, JumpHash.Hash(key, buckets));

    [Fact]
    public void Keys_0_to_19_over_100_buckets_match_the_reference()
    {
        int[] expected = [0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83];
        Assert.Equal(expected, Enumerable.Range(0, 20).Select(k => JumpHash.Hash((ulong)k, 100)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Rejects_fewer_than_one_bucket(int buckets) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => JumpHash.Hash(1, buckets));

    [Fact]
    public void Balances_keys_over_buckets()
    {
        const int buckets = 10;
        const int keys = 200_000;
        var random = new Random(20140606);
        var counts = new int[buckets];
        for (int i = 0; i < keys; i++)
        {
            counts[JumpHash.Hash((ulong)random.NextInt64() ^ ((ulong)random.Next() << 63), buckets)]++;
        }

        // Expected 20 000 each, σ ≈ 134: ±2% is about 3σ.
        Assert.All(counts, c => Assert.InRange(c, 19_600, 20_400));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    [InlineData(1000)]
    public void Adding_a_bucket_moves_about_one_in_n_plus_one_keys_and_only_to_the_new_bucket(int n)
    {
        const int keys = 200_000;
        var random = new Random(n);
        int moved = 0;
        for (int i = 0; i < keys; i++)
        {
            ulong key = (ulong)random.NextInt64() * 2 + (ulong)random.Next(2);
            int before = JumpHash.Hash(key, n);
            int after = JumpHash.Hash(key, n + 1);
            if (before != after)
            {
                Assert.Equal(n, after);
                moved++;
            }
        }

        double expected = 1.0 / (n + 1);
        double fraction = (double)moved / keys;
        // Binomial σ = sqrt(p(1-p)/keys); allow 5σ.
        double sigma = Math.Sqrt(expected * (1 - expected) / keys);
        Assert.InRange(fraction, expected - (5 * sigma), expected + (5 * sigma));
    }

    [Fact]
    public void Equals_a_literal_port_of_the_reference_on_a_million_random_inputs()
    {
        // The reference C++, transcribed without the long-conversion shortcut the implementation takes.
        static int Reference(ulong key, int buckets)
        {
            long b = -1, j = 0;
            while (j < buckets)
            {
                b = j;
                key = unchecked(key * 2862933555777941757UL + 1);
                j = (long)((b + 1) * ((double)(1L << 31) / (double)((key >> 33) + 1)));
            }

            return (int)b;
        }

        var random = new Random(1406_2294);
        for (int i = 0; i < 1_000_000; i++)
        {
            ulong key = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
            int buckets = random.Next(1, 1 << 20);
            Assert.Equal(Reference(key, buckets), JumpHash.Hash(key, buckets));
        }
    }
}
