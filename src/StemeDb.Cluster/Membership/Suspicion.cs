namespace StemeDb.Cluster.Membership;

/// <summary>
/// A suspicion timer (Lifeguard's LHA-Suspicion, memberlist's suspicion.go). It starts at the maximum
/// timeout and shrinks logarithmically toward the minimum as independent members confirm the suspicion:
/// timeout = max − log(n + 1) / log(k + 1) · (max − min), for n of k confirmations. A single slow prober
/// therefore cannot kill a healthy member quickly, while a real failure, seen by many, is declared fast.
/// With Lifeguard off it is plain SWIM: a fixed timeout of <c>min</c>.
/// </summary>
internal sealed class Suspicion : IDisposable
{
    private readonly TimeProvider _time;
    private readonly int _k;
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly long _started;
    private readonly HashSet<NodeId> _confirmations = [];
    private readonly ITimer _timer;
    private int _fired; // 1 once the timer went off; set on the timer's thread

    public Suspicion(TimeProvider time, NodeId origin, int k, TimeSpan min, TimeSpan max, Action onTimeout)
    {
        _time = time;
        _k = k;
        _min = min;
        _max = k < 1 ? min : max;
        _started = time.GetTimestamp();
        _confirmations.Add(origin); // the first accuser is not a confirmation of itself
        Timeout = _max;
        _timer = time.CreateTimer(
            _ =>
            {
                // Once only: a confirmation racing the expiry may have re-armed the timer.
                if (Interlocked.Exchange(ref _fired, 1) == 0)
                {
                    onTimeout();
                }
            },
            null,
            Timeout,
            System.Threading.Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Timeout { get; private set; }

    public int Confirmations => _confirmations.Count - 1;

    /// <summary>
    /// Counts an independent confirmation; returns true when it was new and shortened the timer. After the
    /// timer went off there is nothing left to shorten (memberlist resets only a timer it could stop).
    /// </summary>
    public bool Confirm(NodeId from)
    {
        if (Volatile.Read(ref _fired) == 1 || Confirmations >= _k || !_confirmations.Add(from))
        {
            return false;
        }

        double fraction = Math.Log(Confirmations + 1) / Math.Log(_k + 1);
        TimeSpan timeout = _max - ((_max - _min) * fraction);
        Timeout = timeout < _min ? _min : timeout;
        TimeSpan remaining = Timeout - _time.GetElapsedTime(_started);
        // Never zero: a timer that fires inside Change would re-enter the caller (which holds its lock).
        TimeSpan floor = TimeSpan.FromMilliseconds(1);
        _timer.Change(remaining > floor ? remaining : floor, System.Threading.Timeout.InfiniteTimeSpan);
        return true;
    }

    public void Dispose() => _timer.Dispose();
}
