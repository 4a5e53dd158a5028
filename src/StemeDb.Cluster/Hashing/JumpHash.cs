namespace StemeDb.Cluster.Hashing;

/// <summary>
/// Jump consistent hash (Lamping &amp; Veach 2014, arXiv:1406.2294), bit-exact with the reference C++.
/// Maps a 64-bit key to a bucket in [0, buckets); growing from n to n+1 buckets moves about 1/(n+1)
/// of the keys, all of them to the new bucket. Buckets are shards, never nodes: only the highest
/// bucket can be added or removed.
/// </summary>
public static class JumpHash
{
    // The reference's 64-bit LCG multiplier; arithmetic is mod 2^64.
    private const ulong Multiplier = 2862933555777941757UL;

    /// <summary>Bucket of <paramref name="key"/> among <paramref name="buckets"/> (at least 1).</summary>
    public static int Hash(ulong key, int buckets)
    {
        if (buckets <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "The number of buckets must be at least 1.");
        }

        long b = -1;
        long j = 0;
        while (j < buckets)
        {
            b = j;
            key = unchecked(key * Multiplier + 1);
            // Same evaluation order as the reference: (b + 1) * (2^31 / ((key >> 33) + 1)), in double.
            // (key >> 33) + 1 <= 2^31 fits a long: converting from long is one instruction, from ulong several.
            j = (long)((b + 1) * ((double)(1L << 31) / (long)((key >> 33) + 1)));
        }

        return (int)b;
    }
}
