using System.Collections.Immutable;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// An immutable view of the meta-range: entries in shard order that cover <c>[0, ShardCount)</c> with
/// no gap and no overlap, and an O(1) shard → entry index for routing.
/// </summary>
public sealed class MetaRangeSnapshot
{
    private readonly int[] _entryOfShard;

    internal MetaRangeSnapshot(long version, ImmutableArray<MetaRangeEntry> entries, int[] entryOfShard)
    {
        Version = version;
        Entries = entries;
        _entryOfShard = entryOfShard;
    }

    /// <summary>Increases by one on every change of this node's table; local, not comparable across nodes.</summary>
    public long Version { get; }

    public int ShardCount => _entryOfShard.Length;

    public ImmutableArray<MetaRangeEntry> Entries { get; }

    /// <summary>Index in <see cref="Entries"/> of the entry that holds <paramref name="shard"/>.</summary>
    public int IndexOf(int shard)
    {
        if ((uint)shard >= (uint)_entryOfShard.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(shard), shard, $"Shards are 0..{_entryOfShard.Length - 1}.");
        }

        return _entryOfShard[shard];
    }

    public MetaRangeEntry Find(int shard) => Entries[IndexOf(shard)];

    /// <summary>The winning descriptors, each once, in shard order of their first entry.</summary>
    public IEnumerable<RangeDescriptor> Descriptors()
    {
        var seen = new HashSet<RangeDescriptor>(ReferenceEqualityComparer.Instance);
        foreach (MetaRangeEntry entry in Entries)
        {
            if (seen.Add(entry.Descriptor))
            {
                yield return entry.Descriptor;
            }
        }
    }

    /// <summary>The winning descriptors that overlap <c>[start, end)</c>: what a "range moved" answer carries.</summary>
    public IReadOnlyList<RangeDescriptor> DescriptorsOverlapping(int start, int end)
    {
        var result = new List<RangeDescriptor>();
        if (end <= start)
        {
            return result;
        }

        int last = IndexOf(end - 1);
        for (int i = IndexOf(start); i <= last; i++)
        {
            if (!result.Contains(Entries[i].Descriptor))
            {
                result.Add(Entries[i].Descriptor);
            }
        }

        return result;
    }
}
