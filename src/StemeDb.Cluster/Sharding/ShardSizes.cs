namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Approximate bytes per shard (from the storage engine's size estimates), with prefix sums so that the
/// size of any range and its size-median boundary cost O(1) and O(log S).
/// </summary>
public sealed class ShardSizes
{
    private readonly long[] _prefix;

    public ShardSizes(ReadOnlySpan<long> bytesPerShard)
    {
        _prefix = new long[bytesPerShard.Length + 1];
        for (int i = 0; i < bytesPerShard.Length; i++)
        {
            if (bytesPerShard[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(bytesPerShard), $"Shard {i} has a negative size ({bytesPerShard[i]}).");
            }

            _prefix[i + 1] = checked(_prefix[i] + bytesPerShard[i]);
        }
    }

    public int ShardCount => _prefix.Length - 1;

    public long OfShard(int shard) => Of(shard, shard + 1);

    /// <summary>Bytes in shards <c>[start, end)</c>.</summary>
    public long Of(int start, int end)
    {
        if (start < 0 || end > ShardCount || end < start)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {end}) is not within [0, {ShardCount}).");
        }

        return _prefix[end] - _prefix[start];
    }

    /// <summary>
    /// The shard boundary strictly inside <c>[start, end)</c> nearest to the size median: the split point
    /// that gives the two halves the most equal sizes (TiKV's half policy, at shard granularity).
    /// </summary>
    public int MedianBoundary(int start, int end)
    {
        if (end - start < 2)
        {
            throw new ArgumentException($"[{start}, {end}) has fewer than two shards and cannot be split.", nameof(end));
        }

        // Doubled to stay in integers: the median point is prefix[start] + total/2.
        long twiceTarget = _prefix[start] + _prefix[end];
        int lo = start + 1;
        int hi = end - 1;
        // First boundary b in [lo, hi] with 2·prefix[b] >= twiceTarget (or hi if none).
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) / 2);
            if (2 * _prefix[mid] >= twiceTarget)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        int best = lo;
        if (best - 1 > start && Math.Abs((2 * _prefix[best - 1]) - twiceTarget) <= Math.Abs((2 * _prefix[best]) - twiceTarget))
        {
            best--;
        }

        return best;
    }
}
