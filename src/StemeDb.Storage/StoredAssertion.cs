using StemeDb.Cluster.Time;

namespace StemeDb.Storage;

/// <summary>An assertion as read back: with the time of its retraction when it has one (history reads).</summary>
public sealed record StoredAssertion(Assertion Assertion, HlcTimestamp? RetractedAt)
{
    public bool IsCurrent => RetractedAt is null;
}
