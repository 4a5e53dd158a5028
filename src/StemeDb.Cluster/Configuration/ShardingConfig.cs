namespace StemeDb.Cluster.Configuration;

/// <summary>
/// Shards and ranges (README, "Configuration"). Defaults: S = 4096, three replicas, split above 64 MiB, merge below
/// 20 MiB. Settings live under <c>Cluster:Sharding</c>.
/// </summary>
public sealed class ShardingConfig
{
    public const int MaxShardCount = Sharding.MetaRange.MaxShardCount;
    public const int MaxReplicationFactor = 7;

    /// <summary>S: fixed at cluster creation, since jump hash only adds or removes the highest bucket.</summary>
    public int ShardCount { get; set; } = 4096;

    /// <summary>Replicas per range; writes are acknowledged by a majority of them.</summary>
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>
    /// Ranges of a new cluster's genesis table, led in turn by the founding members
    /// (<see cref="Sharding.GenesisTable"/>); 0 (the default) means <see cref="Sharding.GenesisTable.RangesPerFounder"/>
    /// (8) per founding member. Fixed at cluster creation like the shard count: it is part of the cluster's identity.
    /// </summary>
    public int InitialRanges { get; set; }

    /// <summary>A range above this size is split at the shard boundary nearest its size median.</summary>
    public long SplitThresholdBytes { get; set; } = 64L << 20;

    /// <summary>Adjacent ranges with the same replicas merge when their combined size is below this.</summary>
    public long MergeThresholdBytes { get; set; } = 20L << 20;

    /// <summary>
    /// A range this small also merges into a neighbour up to <see cref="SplitThresholdBytes"/>: adding
    /// (nearly) nothing cannot make the neighbour split sooner, and otherwise an empty range beside a big
    /// one is stranded forever (CockroachDB #100443).
    /// </summary>
    public long StrandedRangeBytes { get; set; } = 1L << 20;

    /// <summary>
    /// No merge of a range whose descriptor changed (split, merge, replica move) less than this long ago:
    /// a fresh split is not undone while its halves fill (PD's split-merge-interval is 1 h).
    /// </summary>
    public TimeSpan MergeCooldown { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A range coordinated at this many requests per second or more over a whole measuring window (10 s) is
    /// split where its load balances (at most once a minute); a range at half of it is not merged. Kept
    /// above what a node serves divided by the ranges it leads, or a uniform load would split every range
    /// (CockroachDB's 2 500 and TiKV's 3 000 assume 8 to 16 cores; a 2-core node serves a few thousand).
    /// </summary>
    public double SplitRequestRate { get; set; } = 1000;

    /// <summary>
    /// A range's leadership is not moved again (by load or by count) within this long of its last change,
    /// so leadership does not ping-pong between nodes (CockroachDB keeps a moved lease 2 minutes).
    /// </summary>
    public TimeSpan LeaderMoveCooldown { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How far ahead of the local clock a peer's HLC timestamp may be before it is rejected.</summary>
    public TimeSpan MaxClockOffset { get; set; } = TimeSpan.FromMilliseconds(500);

    internal void Validate(List<string> errors, string prefix)
    {
        if (ShardCount < 1 || ShardCount > MaxShardCount)
        {
            errors.Add($"{prefix}ShardCount must be between 1 and {MaxShardCount} (was {ShardCount}).");
        }

        if (InitialRanges < 0 || InitialRanges > ShardCount)
        {
            errors.Add($"{prefix}InitialRanges must be between 0 (8 per founding member) and the shard count {ShardCount} (was {InitialRanges}).");
        }

        if (ReplicationFactor < 1 || ReplicationFactor > MaxReplicationFactor)
        {
            errors.Add($"{prefix}ReplicationFactor must be between 1 and {MaxReplicationFactor} (was {ReplicationFactor}).");
        }

        if (SplitThresholdBytes < 1 << 20)
        {
            errors.Add($"{prefix}SplitThresholdBytes must be at least 1 MiB (was {SplitThresholdBytes}).");
        }

        if (MergeThresholdBytes < 0)
        {
            errors.Add($"{prefix}MergeThresholdBytes must not be negative (was {MergeThresholdBytes}).");
        }

        // The halves of a split hold about half the split threshold each; below that the merge threshold
        // keeps them from merging straight back (split → merge → split thrash, tikv/pd#4659).
        if (MergeThresholdBytes > SplitThresholdBytes / 2)
        {
            errors.Add(
                $"{prefix}MergeThresholdBytes ({MergeThresholdBytes}) must be at most half of " +
                $"{prefix}SplitThresholdBytes ({SplitThresholdBytes}), or the halves of a split would merge again.");
        }

        if (StrandedRangeBytes < 0 || StrandedRangeBytes > MergeThresholdBytes)
        {
            errors.Add(
                $"{prefix}StrandedRangeBytes must be between 0 and {prefix}MergeThresholdBytes ({MergeThresholdBytes}) (was {StrandedRangeBytes}).");
        }

        if (MergeCooldown < TimeSpan.Zero)
        {
            errors.Add($"{prefix}MergeCooldown must not be negative (was {MergeCooldown}).");
        }

        if (SplitRequestRate <= 0 || double.IsNaN(SplitRequestRate))
        {
            errors.Add($"{prefix}SplitRequestRate must be positive (was {SplitRequestRate}).");
        }

        if (LeaderMoveCooldown < TimeSpan.Zero)
        {
            errors.Add($"{prefix}LeaderMoveCooldown must not be negative (was {LeaderMoveCooldown}).");
        }

        if (MaxClockOffset < TimeSpan.Zero)
        {
            errors.Add($"{prefix}MaxClockOffset must not be negative (was {MaxClockOffset}).");
        }
    }
}
