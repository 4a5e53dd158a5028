namespace StemeDb.Cluster.Configuration;

/// <summary>
/// Shards and ranges (DESIGN §3). Defaults: S = 4096, three replicas, split above 64 MiB, merge below
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

    /// <summary>How far ahead of the local clock a peer's HLC timestamp may be before it is rejected.</summary>
    public TimeSpan MaxClockOffset { get; set; } = TimeSpan.FromMilliseconds(500);

    internal void Validate(List<string> errors, string prefix)
    {
        if (ShardCount < 1 || ShardCount > MaxShardCount)
        {
            errors.Add($"{prefix}ShardCount must be between 1 and {MaxShardCount} (was {ShardCount}).");
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

        if (MaxClockOffset < TimeSpan.Zero)
        {
            errors.Add($"{prefix}MaxClockOffset must not be negative (was {MaxClockOffset}).");
        }
    }
}
