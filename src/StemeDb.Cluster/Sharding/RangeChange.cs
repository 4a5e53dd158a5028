using System.Collections.Immutable;

namespace StemeDb.Cluster.Sharding;

public enum RangeChangeKind
{
    /// <summary>One range becomes two at its size-median shard boundary.</summary>
    Split,

    /// <summary>Two adjacent ranges with the same replicas become one.</summary>
    Merge,

    /// <summary>Dead or missing replicas are replaced, or extra ones dropped.</summary>
    Replicate,

    /// <summary>A descriptor that wins only part of its span (after conflicting proposals) is re-issued for that part.</summary>
    Repair,
}

/// <summary>
/// One decision of <see cref="RangeManager"/>: the entries it replaces and the update to publish (every
/// descriptor it creates, in one message). <see cref="Reason"/> is for the log line.
/// </summary>
public sealed record RangeChange(
    RangeChangeKind Kind,
    ImmutableArray<MetaRangeEntry> Replaces,
    MetaRangeUpdate Update,
    string Reason);
