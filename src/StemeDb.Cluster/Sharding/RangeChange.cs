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

    /// <summary>The same replicas in another order: leadership moves to the new first replica (metadata only).</summary>
    Reorder,

    /// <summary>
    /// The same descriptor one generation on: ends a slot whose proposer vanished after it was promised, so
    /// the fenced range serves again.
    /// </summary>
    Renew,
}

/// <summary>
/// One proposal of <see cref="RangeManager"/>: the entries it replaces and the descriptors it creates (one
/// message once decided). <see cref="Reason"/> is for the log line; <see cref="Cause"/> names the rule that
/// planned it, for metrics (<c>size</c>, <c>load</c>, <c>small</c>, <c>leader_count</c>, <c>leader_load</c>,
/// <c>re_replication</c>, <c>rebalance</c>).
/// </summary>
public sealed record RangeChange(
    RangeChangeKind Kind,
    ImmutableArray<MetaRangeEntry> Replaces,
    MetaRangeUpdate Update,
    string Reason,
    string Cause = "");
