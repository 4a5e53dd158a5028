namespace StemeDb.Membership.Simulation;

/// <summary>
/// Virtual time that moves only when the simulation moves it: every timer of <see cref="Provider"/> runs on
/// the thread that calls <see cref="Advance"/>, so a seed replays a run exactly.
/// </summary>
public interface IVirtualClock
{
    /// <summary>The clock the network and the members run on.</summary>
    TimeProvider Provider { get; }

    /// <summary>Virtual time since the clock started.</summary>
    TimeSpan Elapsed { get; }

    /// <summary>Moves the clock on by <paramref name="duration"/>, running every timer that falls due on the way.</summary>
    void Advance(TimeSpan duration);
}
