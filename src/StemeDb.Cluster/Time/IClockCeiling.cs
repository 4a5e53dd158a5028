namespace StemeDb.Cluster.Time;

/// <summary>
/// Durable storage of an upper bound on the wall times a clock has issued, so that after a restart it
/// starts above everything it issued before (CockroachDB's persisted upper bound). <see cref="Store"/> must
/// be durable when it returns.
/// </summary>
public interface IClockCeiling
{
    /// <summary>The stored bound, in Unix milliseconds; 0 when none was stored.</summary>
    long Load();

    void Store(long wallMilliseconds);
}
