using System.Diagnostics;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// One circuit breaker (daprd keeps one per <c>&lt;app-id&gt;:&lt;method&gt;</c>): closed, open after the
/// policy trips, half-open after its timeout; a half-open success closes it, a failure opens it again.
/// </summary>
// daprd: pkg/resiliency/resiliency.go EndpointPolicy (breakers per <id>:<method>); pkg/resiliency/policy.go NewRunnerWithOptions
public sealed class CircuitBreaker(CircuitBreakerPolicy policy)
{
    private readonly Lock _lock = new();
    private BreakerState _state = BreakerState.Closed;
    private BreakerCounts _counts;
    private long _expiry = Stopwatch.GetTimestamp() + Ticks(policy.Interval);

    public enum BreakerState
    {
        Closed,
        Open,
        HalfOpen,
    }

    public BreakerState State
    {
        get
        {
            lock (_lock)
            {
                Advance(Stopwatch.GetTimestamp());
                return _state;
            }
        }
    }

    /// <summary>Admits a call, or gives the reason it is refused (<c>circuit breaker is open</c>, <c>too many requests</c>).</summary>
    public bool TryEnter(out string? refusal)
    {
        lock (_lock)
        {
            Advance(Stopwatch.GetTimestamp());
            refusal = _state switch
            {
                BreakerState.Open => "circuit breaker is open",
                BreakerState.HalfOpen when _counts.Requests >= policy.MaxRequests => "too many requests",
                _ => null,
            };
            if (refusal is null)
            {
                _counts = _counts with { Requests = _counts.Requests + 1 };
            }

            return refusal is null;
        }
    }

    public void Record(bool success)
    {
        lock (_lock)
        {
            long now = Stopwatch.GetTimestamp();
            Advance(now);
            if (success)
            {
                _counts = _counts with { TotalSuccesses = _counts.TotalSuccesses + 1, ConsecutiveSuccesses = _counts.ConsecutiveSuccesses + 1, ConsecutiveFailures = 0 };
                if (_state == BreakerState.HalfOpen && _counts.ConsecutiveSuccesses >= policy.MaxRequests)
                {
                    Enter(BreakerState.Closed, now);
                }

                return;
            }

            _counts = _counts with { TotalFailures = _counts.TotalFailures + 1, ConsecutiveFailures = _counts.ConsecutiveFailures + 1, ConsecutiveSuccesses = 0 };
            if (_state == BreakerState.HalfOpen || (_state == BreakerState.Closed && policy.Trips(_counts)))
            {
                Enter(BreakerState.Open, now);
            }
        }
    }

    private void Advance(long now)
    {
        if (_state == BreakerState.Closed && policy.Interval > TimeSpan.Zero && now >= _expiry)
        {
            Enter(BreakerState.Closed, now);
        }
        else if (_state == BreakerState.Open && now >= _expiry)
        {
            Enter(BreakerState.HalfOpen, now);
        }
    }

    private void Enter(BreakerState state, long now)
    {
        _state = state;
        _counts = default;
        _expiry = state switch
        {
            BreakerState.Open => now + Ticks(policy.Timeout),
            BreakerState.Closed when policy.Interval > TimeSpan.Zero => now + Ticks(policy.Interval),
            _ => long.MaxValue,
        };
    }

    private static long Ticks(TimeSpan span) => span <= TimeSpan.Zero ? long.MaxValue / 2 : (long)(span.TotalSeconds * Stopwatch.Frequency);
}
