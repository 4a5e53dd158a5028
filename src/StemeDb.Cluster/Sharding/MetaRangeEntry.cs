namespace StemeDb.Cluster.Sharding;

/// <summary>
/// A maximal run of shards <c>[StartShard, EndShard)</c> that one descriptor wins. Normally the run is the
/// descriptor's whole span; conflicting descriptors (which decided changes never produce) would leave one
/// winning only part of its span (<see cref="IsClipped"/>).
/// </summary>
public readonly record struct MetaRangeEntry(int StartShard, int EndShard, RangeDescriptor Descriptor)
{
    public int ShardCount => EndShard - StartShard;

    public bool IsClipped => StartShard != Descriptor.StartShard || EndShard != Descriptor.EndShard;

    public bool Contains(int shard) => shard >= StartShard && shard < EndShard;

    public override string ToString() =>
        IsClipped ? $"[{StartShard}, {EndShard}) of {Descriptor}" : Descriptor.ToString();
}
