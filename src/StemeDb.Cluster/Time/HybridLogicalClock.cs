using StemeDb.Cluster.Errors;

namespace StemeDb.Cluster.Time;

/// <summary>
/// Hybrid logical clock: timestamps that respect causality (send/receive) and stay close to physical
/// time, so last-writer-wins never picks a value "from the past" relative to what its writer saw.
/// With an <see cref="IClockCeiling"/> it never issues a wall time above the stored bound without storing
/// a higher one first, and starts above the stored bound: a restarted node never issues a timestamp below
/// one it issued before, even when its physical clock went back meanwhile. Thread-safe; time comes from
/// <see cref="TimeProvider"/>.
/// </summary>
public sealed class HybridLogicalClock
{
    private readonly TimeProvider _time;
    private readonly long _maxOffsetMs;
    private readonly IClockCeiling? _ceilingStore;
    private readonly long _leadMs;
    private readonly Lock _lock = new();
    private HlcTimestamp _last;
    private long _ceiling;

    /// <param name="time">Physical clock.</param>
    /// <param name="maxClockOffset">How far ahead of local time a remote timestamp may be (CockroachDB: 500 ms).</param>
    /// <param name="ceiling">Where the upper bound of issued wall times is kept; none: no guarantee across restarts.</param>
    /// <param name="ceilingLead">How far ahead of what it issues the stored bound is set: one durable write per lead at most.</param>
    public HybridLogicalClock(TimeProvider time, TimeSpan maxClockOffset, IClockCeiling? ceiling = null, TimeSpan? ceilingLead = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClockOffset, TimeSpan.Zero);
        _time = time;
        _maxOffsetMs = (long)maxClockOffset.TotalMilliseconds;
        _ceilingStore = ceiling;
        _leadMs = Math.Max(1, (long)(ceilingLead ?? TimeSpan.FromSeconds(1)).TotalMilliseconds);
        if (ceiling is not null)
        {
            // Everything issued before the restart was at or below the stored bound: start there.
            _ceiling = ceiling.Load();
            _last = new HlcTimestamp(_ceiling, 0);
        }
    }

    /// <summary>How far the physical clock is behind what this clock may already have issued (zero when it is not).</summary>
    public TimeSpan BehindCeiling
    {
        get
        {
            long behind;
            lock (_lock)
            {
                behind = _ceiling - PhysicalNow();
            }

            return behind > 0 ? TimeSpan.FromMilliseconds(behind) : TimeSpan.Zero;
        }
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
            KeepBelowCeiling(pt);
            return _last;
        }
    }

    /// <summary>
    /// Moves the stored bound ahead when physical time comes within half a lead of it: called now and then
    /// from a background loop, so that the write path rarely waits for the durable write itself.
    /// </summary>
    public void ExtendCeiling()
    {
        if (_ceilingStore is null)
        {
            return;
        }

        long pt = PhysicalNow();
        lock (_lock)
        {
            if (pt + (_leadMs / 2) > _ceiling)
            {
                _ceiling = Math.Max(pt, _last.WallMilliseconds) + _leadMs;
                _ceilingStore.Store(_ceiling);
            }
        }
    }

    // Under the lock: never hand out a wall time above the stored bound.
    private void KeepBelowCeiling(long pt)
    {
        if (_ceilingStore is not null && _last.WallMilliseconds > _ceiling)
        {
            _ceiling = Math.Max(pt, _last.WallMilliseconds) + _leadMs;
            _ceilingStore.Store(_ceiling);
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

            KeepBelowCeiling(pt);
            result = _last;
            return true;
        }
    }

    // The counter is 16 bits; at its end the wall part moves on by 1 ms instead of overflowing.
    private static HlcTimestamp Tick(long wall, ushort logical) =>
        logical == ushort.MaxValue ? new HlcTimestamp(wall + 1, 0) : new HlcTimestamp(wall, (ushort)(logical + 1));

    private long PhysicalNow() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
