using Microsoft.Extensions.Time.Testing;

namespace StemeDb.Membership.Simulation;

/// <summary>
/// Virtual time on a <see cref="FakeTimeProvider"/>, moved in fixed steps. A timer that falls due within a
/// step reads the step's end as the time, and a timer armed there counts from it: the step is part of the
/// schedule. The SWIM tests' seeds and bounds were checked on 10 ms steps, so they keep them; the
/// scenarios run on the exact and cheaper <see cref="VirtualTimeScheduler"/>.
/// </summary>
public sealed class SteppedFakeClock : IVirtualClock
{
    private readonly FakeTimeProvider _time;
    private readonly DateTimeOffset _epoch;

    public SteppedFakeClock(DateTimeOffset epoch, TimeSpan step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        _epoch = epoch;
        _time = new FakeTimeProvider(epoch);
        Step = step;
    }

    public TimeSpan Step { get; }

    public TimeProvider Provider => _time;

    public TimeSpan Elapsed => _time.GetUtcNow() - _epoch;

    /// <summary>Moves on step by step; a duration that is not a whole number of steps ends on the next step.</summary>
    public void Advance(TimeSpan duration)
    {
        for (TimeSpan t = TimeSpan.Zero; t < duration; t += Step)
        {
            _time.Advance(Step);
        }
    }
}
