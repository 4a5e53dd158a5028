using StemeDb.Cluster.Sharding;

namespace StemeDb.Node;

/// <summary>
/// The requests this node coordinates, counted per shard (exactly: one counter per shard, no sampling) and
/// turned into rates once per <see cref="Window"/>: what load splits and leadership moves go by. A write
/// counts each record it carries, a read one.
/// </summary>
public sealed class LoadTracker(TimeProvider time, Cluster.Configuration.ClusterConfig config)
{
    /// <summary>How long a rate is measured over (CockroachDB and TiKV decide load splits on ≥ 10 s).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly long[] _hits = new long[config.Sharding.ShardCount];
    private readonly Lock _lock = new();
    private long _windowStart = time.GetTimestamp();
    private ShardLoad _last = ShardLoad.None(config.Sharding.ShardCount);

    public void Record(int shard, int count = 1) => Interlocked.Add(ref _hits[shard], count);

    /// <summary>The rates of the last complete window (all zero until one completed).</summary>
    public ShardLoad Current
    {
        get
        {
            Roll();
            lock (_lock)
            {
                return _last;
            }
        }
    }

    /// <summary>Requests per second this node coordinated over the last complete window.</summary>
    public double NodeRate => Current.Of(0, _hits.Length);

    private void Roll()
    {
        long now = time.GetTimestamp();
        lock (_lock)
        {
            TimeSpan elapsed = time.GetElapsedTime(_windowStart, now);
            if (elapsed < Window)
            {
                return;
            }

            double seconds = elapsed.TotalSeconds;
            double[] rates = new double[_hits.Length];
            for (int s = 0; s < rates.Length; s++)
            {
                rates[s] = Interlocked.Exchange(ref _hits[s], 0) / seconds;
            }

            _last = new ShardLoad(rates);
            _windowStart = now;
        }
    }
}
