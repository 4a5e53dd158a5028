namespace StemeDb.Cluster.Sharding;

/// <summary>
/// Requests per second per shard over the last measuring window, as one node counted the requests it
/// coordinated (exactly: one shard per request, at most a few thousand shards, so no sampling), with prefix
/// sums so that the rate of any range and its load-balancing boundary cost O(1) and O(span).
/// </summary>
public sealed class ShardLoad
{
    private readonly double[] _prefix;
    private readonly double[] _rates;

    public ShardLoad(ReadOnlySpan<double> ratePerShard)
    {
        _rates = ratePerShard.ToArray();
        _prefix = new double[_rates.Length + 1];
        for (int i = 0; i < _rates.Length; i++)
        {
            if (_rates[i] < 0 || double.IsNaN(_rates[i]))
            {
                throw new ArgumentOutOfRangeException(nameof(ratePerShard), $"Shard {i} has a rate of {_rates[i]}.");
            }

            _prefix[i + 1] = _prefix[i] + _rates[i];
        }
    }

    /// <summary>No load measured anywhere.</summary>
    public static ShardLoad None(int shardCount) => new(new double[shardCount]);

    public int ShardCount => _rates.Length;

    /// <summary>Requests per second to shards <c>[start, end)</c>.</summary>
    public double Of(int start, int end) => _prefix[end] - _prefix[start];

    /// <summary>The largest share one shard of <c>[start, end)</c> takes of the range's load (0 without load).</summary>
    public double HottestShare(int start, int end)
    {
        double total = Of(start, end);
        double hottest = 0;
        for (int s = start; s < end; s++)
        {
            hottest = Math.Max(hottest, _rates[s]);
        }

        return total > 0 ? hottest / total : 0;
    }

    /// <summary>
    /// The shard boundary strictly inside <c>[start, end)</c> that best balances the load on its two sides,
    /// and how unbalanced that still is: |L − R| / (L + R), 0 even, 1 all on one side (CockroachDB's and
    /// TiKV's load-split rule, at shard granularity).
    /// </summary>
    public (int Boundary, double Imbalance) BalancedBoundary(int start, int end)
    {
        if (end - start < 2)
        {
            throw new ArgumentException($"[{start}, {end}) has fewer than two shards and cannot be split.", nameof(end));
        }

        double total = Of(start, end);
        int best = start + 1;
        double bestImbalance = double.MaxValue;
        for (int b = start + 1; b < end; b++)
        {
            double left = Of(start, b);
            double imbalance = total > 0 ? Math.Abs(left - (total - left)) / total : 1;
            if (imbalance < bestImbalance)
            {
                best = b;
                bestImbalance = imbalance;
            }
        }

        return (best, bestImbalance);
    }
}
