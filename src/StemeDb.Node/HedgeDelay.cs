namespace StemeDb.Node;

/// <summary>
/// How long a majority read waits for the replicas it asked before it asks one more (a hedge). A read asks
/// only as many other replicas as a majority needs, so a slow or cut-off replica would hold it until the
/// replica timeout; after this delay the next replica is asked too. Adaptive by default: the smoothed
/// latency of replica reads plus four times its mean deviation (Jacobson and Karels' retransmission timer,
/// RFC 6298), so under load the delay grows with the latency instead of hedging every read when the node
/// is busiest. <c>Node:ReadHedgeDelay</c> pins it; zero asks every replica at once.
/// </summary>
public sealed class HedgeDelay
{
    /// <summary>No hedge sooner than this, however fast replicas answer.</summary>
    public static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(5);

    /// <summary>The delay before any replica read was timed.</summary>
    public static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);

    private const double Gain = 1.0 / 8;
    private const double DeviationGain = 1.0 / 4;

    private readonly TimeSpan? _fixed;
    private readonly double _ceilingMs;
    private readonly Lock _lock = new();
    private double _smoothedMs = -1;
    private double _deviationMs;

    public HedgeDelay(NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _fixed = options.ReadHedgeDelay;
        // Never later than half the replica timeout: the hedge must still have time to answer.
        _ceilingMs = Math.Max(Floor.TotalMilliseconds, options.ReplicaTimeout.TotalMilliseconds / 2);
    }

    /// <summary>Whether a read asks every replica at once (a pinned delay of zero).</summary>
    public bool AskAll => _fixed == TimeSpan.Zero;

    /// <summary>The delay to use now.</summary>
    public TimeSpan Current
    {
        get
        {
            if (_fixed is { } pinned)
            {
                return pinned;
            }

            lock (_lock)
            {
                double ms = _smoothedMs < 0 ? Initial.TotalMilliseconds : _smoothedMs + (4 * _deviationMs);
                return TimeSpan.FromMilliseconds(Math.Clamp(ms, Floor.TotalMilliseconds, _ceilingMs));
            }
        }
    }

    /// <summary>Takes the latency of one replica read that was answered.</summary>
    public void Observe(TimeSpan latency)
    {
        double ms = latency.TotalMilliseconds;
        lock (_lock)
        {
            if (_smoothedMs < 0)
            {
                _smoothedMs = ms;
                _deviationMs = ms / 2;
                return;
            }

            _deviationMs += DeviationGain * (Math.Abs(ms - _smoothedMs) - _deviationMs);
            _smoothedMs += Gain * (ms - _smoothedMs);
        }
    }
}
