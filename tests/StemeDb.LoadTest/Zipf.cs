namespace StemeDb.LoadTest;

/// <summary>
/// Zipfian ranks in [0, n) with exponent <c>s</c> (YCSB's default 0.99): rank 0 is the most popular.
/// Sampling inverts the precomputed cumulative distribution with a binary search.
/// </summary>
public sealed class Zipf
{
    private readonly double[] _cumulative;

    public Zipf(int n, double s)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        _cumulative = new double[n];
        double sum = 0;
        for (int k = 0; k < n; k++)
        {
            sum += 1 / Math.Pow(k + 1, s);
            _cumulative[k] = sum;
        }

        for (int k = 0; k < n; k++)
        {
            _cumulative[k] /= sum;
        }
    }

    public int Next(Random random)
    {
        int index = Array.BinarySearch(_cumulative, random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, _cumulative.Length - 1);
    }
}
