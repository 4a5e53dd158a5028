using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// The cluster-wide table of range descriptors, as one node knows it, merged last-writer-wins.
/// <para>
/// The merge rule is defined per shard: every shard is held by the greatest descriptor (in
/// <see cref="DescriptorOrder"/>: generation, HLC, proposer) among all descriptors ever applied that
/// contain it. The table is therefore a function of the <em>set</em> of descriptors received, which gives
/// the three meta-range invariants (README, "Guarantees") by construction: the same updates in any order and with any
/// duplicates give the same table (a max over a set); every shard is always held (the genesis descriptor
/// descriptors cover <c>[0, S)</c>), by exactly one run; and the generation holding a shard never goes down (the set
/// only grows and generation is compared first). A descriptor that wins nowhere is dropped: it can
/// never win later, since winners only increase.
/// </para>
/// <para>
/// Descriptors that conflict (a split of a range and a merge over it, both published) would leave a
/// descriptor winning only part of its span (<see cref="MetaRangeEntry.IsClipped"/>). Decided changes never
/// conflict: each one is chosen by the replicas of what it replaces (<see cref="Consensus.ChangeOrchestration"/>),
/// so the merge rule only ever orders a descriptor after its decided predecessors. Applying costs
/// O(span of the descriptors); readers take lock-free immutable snapshots.
/// </para>
/// </summary>
public sealed class MetaRange
{
    /// <summary>Upper bound on the shard count; the winner array holds one reference per shard.</summary>
    public const int MaxShardCount = 1 << 20;

    private readonly Lock _lock = new();
    private readonly RangeDescriptor[] _winner;
    private MetaRangeSnapshot _current;

    /// <param name="shardCount">S, fixed at cluster creation.</param>
    /// <param name="genesis">The cluster's first descriptor; it must span <c>[0, S)</c>, so no shard is ever unheld.</param>
    public MetaRange(int shardCount, RangeDescriptor genesis)
        : this(shardCount, [genesis])
    {
    }

    /// <param name="shardCount">S, fixed at cluster creation.</param>
    /// <param name="genesis">The cluster's first descriptors (<see cref="GenesisTable"/>): together they must cover <c>[0, S)</c> exactly once, so no shard is ever unheld.</param>
    public MetaRange(int shardCount, IReadOnlyList<RangeDescriptor> genesis)
    {
        if (shardCount < 1 || shardCount > MaxShardCount)
        {
            throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, $"The shard count must be 1..{MaxShardCount}.");
        }

        ArgumentNullException.ThrowIfNull(genesis);
        _winner = new RangeDescriptor[shardCount];
        int next = 0;
        foreach (RangeDescriptor d in genesis.OrderBy(d => d.StartShard))
        {
            ArgumentNullException.ThrowIfNull(d, nameof(genesis));
            if (d.StartShard != next || d.EndShard > shardCount)
            {
                throw new InvalidDescriptorException(
                    $"The genesis descriptors must cover [0, {shardCount}) exactly once; {d} does not follow shard {next}.");
            }

            Array.Fill(_winner, d, d.StartShard, d.ShardCount);
            next = d.EndShard;
        }

        if (next != shardCount)
        {
            throw new InvalidDescriptorException($"The genesis descriptors cover [0, {next}); they must cover [0, {shardCount}).");
        }

        _current = BuildSnapshot(0);
    }

    public int ShardCount => _winner.Length;

    /// <summary>The current table. Lock-free; a snapshot never changes.</summary>
    public MetaRangeSnapshot Current => Volatile.Read(ref _current);

    /// <summary>The genesis descriptor every node of a new cluster starts from: one range, generation 0.</summary>
    public static RangeDescriptor GenesisDescriptor(int shardCount, IEnumerable<NodeId> replicas, NodeId proposer) =>
        new(RangeId.Genesis, 0, shardCount, [.. replicas], 0, HlcTimestamp.Zero, proposer);

    /// <summary>
    /// A table for a process that holds no descriptor yet (a gateway before its first snapshot): one
    /// placeholder range that loses to any descriptor a cluster produces — generation 0, time 0, and the
    /// lowest possible proposer id and range id — so the first snapshot replaces it everywhere.
    /// </summary>
    public static MetaRange Unknown(int shardCount)
    {
        var lowest = new NodeId("-");
        return new MetaRange(shardCount, new RangeDescriptor(new RangeId(0), 0, shardCount, [lowest], 0, HlcTimestamp.Zero, lowest));
    }

    /// <summary>Whether <paramref name="descriptor"/> is the placeholder of <see cref="Unknown"/>.</summary>
    public static bool IsPlaceholder(RangeDescriptor descriptor) => descriptor.Id.Value == 0 && descriptor.Proposer.Value == "-";

    public bool Apply(MetaRangeUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return Apply(update.Descriptors.IsDefault ? [] : (IEnumerable<RangeDescriptor>)update.Descriptors);
    }

    public bool Apply(RangeDescriptor descriptor) => Apply([descriptor]);

    /// <summary>
    /// Merges descriptors into the table; all of them become visible in one snapshot. Returns whether the
    /// table changed. A descriptor outside <c>[0, S)</c> is rejected before anything is applied.
    /// </summary>
    public bool Apply(IEnumerable<RangeDescriptor> descriptors)
    {
        ArgumentNullException.ThrowIfNull(descriptors);
        RangeDescriptor[] batch = [.. descriptors];
        foreach (RangeDescriptor d in batch)
        {
            ArgumentNullException.ThrowIfNull(d, nameof(descriptors));
            if (d.EndShard > _winner.Length)
            {
                throw new InvalidDescriptorException(
                    $"{d} reaches past the last shard; this cluster has {_winner.Length} shards.");
            }
        }

        lock (_lock)
        {
            bool changed = false;
            foreach (RangeDescriptor d in batch)
            {
                changed |= ApplyOne(d);
            }

            if (changed)
            {
                Volatile.Write(ref _current, BuildSnapshot(_current.Version + 1));
            }

            return changed;
        }
    }

    private bool ApplyOne(RangeDescriptor d)
    {
        bool changed = false;
        RangeDescriptor? lastHolder = null;
        int lastOrder = 0;
        for (int shard = d.StartShard; shard < d.EndShard; shard++)
        {
            RangeDescriptor holder = _winner[shard];
            // Runs of one holder are long: compare once per run.
            if (!ReferenceEquals(holder, lastHolder))
            {
                lastHolder = holder;
                lastOrder = DescriptorOrder.Compare(d, holder);
            }

            // An equal descriptor (a duplicate delivery) takes the place of its twin, so that one value is
            // always one object and runs coalesce the same way whatever the order of arrival.
            if (lastOrder >= 0)
            {
                _winner[shard] = d;
                changed |= lastOrder > 0;
            }
        }

        return changed;
    }

    private MetaRangeSnapshot BuildSnapshot(long version)
    {
        // Two passes: count the runs, then fill an array of exactly that size and hand it over without a
        // copy. A growing builder and its final copy had doubled the allocation of every change (6 MB per
        // applied update at 100 000 ranges, measured in MetaRangeMergeBenchmarks).
        int runs = 1;
        for (int shard = 1; shard < _winner.Length; shard++)
        {
            if (!ReferenceEquals(_winner[shard], _winner[shard - 1]))
            {
                runs++;
            }
        }

        var entries = new MetaRangeEntry[runs];
        int[] entryOfShard = new int[_winner.Length];
        int count = 0;
        int runStart = 0;
        for (int shard = 1; shard <= _winner.Length; shard++)
        {
            if (shard == _winner.Length || !ReferenceEquals(_winner[shard], _winner[runStart]))
            {
                Array.Fill(entryOfShard, count, runStart, shard - runStart);
                entries[count++] = new MetaRangeEntry(runStart, shard, _winner[runStart]);
                runStart = shard;
            }
        }

        return new MetaRangeSnapshot(version, System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(entries), entryOfShard);
    }
}
