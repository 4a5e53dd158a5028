namespace StemeDb.Cluster.Membership;

/// <summary>
/// Lifeguard's local health multiplier (memberlist's awareness.go). A member that misses nacks, fails
/// probes or has to refute suspicions of itself is probably the slow one: it stretches its own probe
/// interval rather than accuse healthy peers. Score 0 is healthy; the interval scales by score + 1.
/// Not thread-safe: <see cref="SwimMembership"/> calls it under its lock.
/// </summary>
internal sealed class Awareness(int maxMultiplier, bool enabled)
{
    public int Score { get; private set; }

    public void ApplyDelta(int delta)
    {
        if (!enabled)
        {
            return;
        }

        Score = Math.Clamp(Score + delta, 0, maxMultiplier - 1);
    }

    public TimeSpan Scale(TimeSpan interval) => interval * (Score + 1);
}
