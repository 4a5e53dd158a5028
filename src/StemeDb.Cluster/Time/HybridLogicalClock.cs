using StemeDb.Cluster.Errors;

namespace StemeDb.Cluster.Time;

/// <summary>
/// Hybrid logical clock: timestamps that respect causality (send/receive) and stay close to physical
/// time, so last-writer-wins never picks a value "from the past" relative to what its writer saw.
/// Thread-safe; time comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class HybridLogicalClock
{
    private readonly TimeProvider _time;
    private readonly long _maxOffsetMs;
    private readonly Lock _lock = new();
    private HlcTimestamp _last;

    /// <param name="time">Physical clock.</param>
    /// <param name="maxClockOffset">How far ahead of local time a remote timestamp may be (CockroachDB: 500 ms).</param>
    public HybridLogicalClock(TimeProvider time, TimeSpan maxClockOffset)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClockOffset, TimeSpan.Zero);
        _time = time;
        _maxOffsetMs = (long)maxClockOffset.TotalMilliseconds;
    }

    public HybridLogicalClock(TimeProvider time)
        : this(time, TimeSpan.FromMilliseconds(500))
    {
    }

    /// <summary>The latest timestamp issued or observed.</summary>
    public HlcTimestamp Last
    {
        get
        {
            lock (_lock)
            {
                return _last;
            }
        }
    }

    /// <summary>A timestamp for a local or send event, greater than every one issued or observed before.</summary>
    public HlcTimestamp Now()
    {
        long pt = PhysicalNow();
        lock (_lock)
        {
            _last = pt > _last.WallMilliseconds ? new HlcTimestamp(pt, 0) : Tick(_last.WallMilliseconds, _last.Logical);
            return _last;
        }
    }

    /// <summary>
    /// Observes a remote timestamp (receive event) and returns a local one greater than both.
    /// Throws <see cref="ClockSkewException"/> when the remote clock is too far ahead; the clock is then unchanged.
    /// </summary>
    public HlcTimestamp Update(HlcTimestamp remote)
    {
        if (!TryUpdate(remote, out HlcTimestamp result))
        {
            throw new ClockSkewException(
                $"Remote timestamp {remote} is more than {_maxOffsetMs} ms ahead of the local clock ({PhysicalNow()} ms).");
        }

        return result;
    }

    /// <inheritdoc cref="Update"/>
    public bool TryUpdate(HlcTimestamp remote, out HlcTimestamp result)
    {
        long pt = PhysicalNow();
        if (remote.WallMilliseconds - pt > _maxOffsetMs)
        {
            result = default;
            return false;
        }

        lock (_lock)
        {
            long l = Math.Max(Math.Max(_last.WallMilliseconds, remote.WallMilliseconds), pt);
            if (l == _last.WallMilliseconds && l == remote.WallMilliseconds)
            {
                _last = Tick(l, Math.Max(_last.Logical, remote.Logical));
            }
            else if (l == _last.WallMilliseconds)
            {
                _last = Tick(l, _last.Logical);
            }
            else if (l == remote.WallMilliseconds)
            {
                _last = Tick(l, remote.Logical);
            }
            else
            {
                _last = new HlcTimestamp(l, 0);
            }

            result = _last;
            return true;
        }
    }

    // The counter is 16 bits; at its end the wall part moves on by 1 ms instead of overflowing.
    private static HlcTimestamp Tick(long wall, ushort logical) =>
        logical == ushort.MaxValue ? new HlcTimestamp(wall + 1, 0) : new HlcTimestamp(wall, (ushort)(logical + 1));

    private long PhysicalNow() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
