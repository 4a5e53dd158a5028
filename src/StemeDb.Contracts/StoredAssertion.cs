using StemeDb.Cluster.Time;

namespace StemeDb.Contracts;

/// <summary>An assertion as read back: with the time of its retraction when it has one (history reads).</summary>
public sealed record StoredAssertion(Assertion Assertion, HlcTimestamp? RetractedAt)
{
    public bool IsCurrent => RetractedAt is null;
}
