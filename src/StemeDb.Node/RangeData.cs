using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Storage;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node;

/// <summary>
/// Moving range data between replicas: compare per-shard digests, then copy only the shards that differ,
/// a page at a time, pushed to a peer or pulled from one (imports merge by union, so copying twice or in
/// any order is harmless). And dropping the data of ranges this node no longer replicates, which is the
/// one way data leaves a node: only once the decided descriptor that removed it has been known here for
/// <see cref="NodeOptions.DropGrace"/>, and never over data imported into the span since (checked under the
/// store's write lock, so an import racing the drop survives it).
/// </summary>
public sealed class RangeData(ClusterNode node, MetaRangeSync sync, RocksDbAssertionStore store, PeerClient peers, NodeOptions options, TimeProvider time, ILogger<RangeData> logger)
{
    private readonly long[] _lastImport = NeverImported(store.ShardCount);

    /// <summary>Records that shards <c>[start, end)</c> just received data, before it is written: a drop decided earlier must not take it.</summary>
    public void NoteImport(int start, int end)
    {
        long now = time.GetTimestamp();
        for (int shard = start; shard < end; shard++)
        {
            Interlocked.Exchange(ref _lastImport[shard], now);
        }
    }

    /// <summary>Sends <paramref name="target"/> the shards of <c>[start, end)</c> where its data differs from ours. False when it failed.</summary>
    public async Task<bool> PushAsync(int start, int end, NodeId target, CancellationToken cancellationToken)
    {
        PeerResult<List<ShardDigestDto>> theirs = await peers.ShardDigestsAsync(target, start, end, cancellationToken).ConfigureAwait(false);
        if (!theirs.IsOk)
        {
            logger.LogWarning("Could not compare [{Start}, {End}) with {Node}: {Error}", start, end, target, theirs.Error);
            return false;
        }

        Dictionary<int, string> known = theirs.Value!.ToDictionary(d => d.Shard, d => d.Digest);
        foreach ((int from, int to) in Runs(store.ShardDigests(start, end).Where(d => !known.TryGetValue(d.Shard, out string? digest) || digest != d.Digest).Select(d => d.Shard)))
        {
            byte[]? cursor = null;
            while (true)
            {
                IReadOnlyList<StoredRecord> page = store.ExportPage(from, to, cursor, PeerClient.PageSize);
                if (page.Count == 0)
                {
                    break;
                }

                PeerResult<bool> sent = await peers.ImportAsync(target, from, to, [.. page.Select(RecordDto.From)], cancellationToken).ConfigureAwait(false);
                if (!sent.IsOk)
                {
                    logger.LogWarning("Could not send [{Start}, {End}) to {Node}: {Error}", from, to, target, sent.Error);
                    return false;
                }

                cursor = page[^1].Key;
            }
        }

        return true;
    }

    /// <summary>Takes from <paramref name="source"/> the shards of <c>[start, end)</c> where its data differs from ours; the records added, or -1 when it failed.</summary>
    public async Task<int> PullAsync(int start, int end, NodeId source, CancellationToken cancellationToken)
    {
        PeerResult<List<ShardDigestDto>> theirs = await peers.ShardDigestsAsync(source, start, end, cancellationToken).ConfigureAwait(false);
        if (!theirs.IsOk)
        {
            logger.LogWarning("Could not compare [{Start}, {End}) with {Node}: {Error}", start, end, source, theirs.Error);
            return -1;
        }

        Dictionary<int, string> mine = store.ShardDigests(start, end).ToDictionary(d => d.Shard, d => d.Digest);
        int added = 0;
        foreach ((int from, int to) in Runs(theirs.Value!.Where(d => !mine.TryGetValue(d.Shard, out string? digest) || digest != d.Digest).Select(d => d.Shard)))
        {
            string? cursor = null;
            do
            {
                PeerResult<RecordPage> page = await peers.ExportPageAsync(source, from, to, cursor, cancellationToken).ConfigureAwait(false);
                if (!page.IsOk)
                {
                    logger.LogWarning("Could not read [{Start}, {End}) from {Node}: {Error}", from, to, source, page.Error);
                    return -1;
                }

                NoteImport(from, to);
                added += await store.ImportAsync(page.Value!.Records.Select(r => r.ToRecord()), from, to).ConfigureAwait(false);
                cursor = page.Value.Next;
            }
            while (cursor is not null);
        }

        return added;
    }

    /// <summary>Drops the data of ranges this node no longer replicates, once that is settled (see the class summary).</summary>
    public void DropForeign()
    {
        ShardSizes sizes = store.Sizes();
        long graceTicks = (long)(options.DropGrace.TotalSeconds * time.TimestampFrequency);
        foreach (MetaRangeEntry entry in node.Table.Current.Entries)
        {
            RangeDescriptor d = entry.Descriptor;
            if (d.Replicas.Contains(node.Id) || sizes.Of(entry.StartShard, entry.EndShard) == 0 || sync.AgeOf(d) < options.DropGrace)
            {
                continue;
            }

            bool dropped = store.DeleteRangeIf(entry.StartShard, entry.EndShard, () =>
                node.Table.Current.Find(entry.StartShard).Descriptor.Equals(d)
                && !Enumerable.Range(entry.StartShard, entry.ShardCount).Any(s => time.GetTimestamp() - Interlocked.Read(ref _lastImport[s]) < graceTicks));
            if (dropped)
            {
                logger.LogInformation("Dropped the data of [{Start}, {End}): range {Range} is replicated by {Replicas}, not here, since a decided change known here for {Age}", entry.StartShard, entry.EndShard, d.Id, string.Join(", ", d.Replicas), sync.AgeOf(d));
            }
        }
    }

    /// <summary>Shards in ascending order, as spans of consecutive ones.</summary>
    private static IEnumerable<(int Start, int End)> Runs(IEnumerable<int> shards)
    {
        int start = -1, end = -1;
        foreach (int shard in shards.Order())
        {
            if (shard == end)
            {
                end++;
                continue;
            }

            if (start >= 0)
            {
                yield return (start, end);
            }

            start = shard;
            end = shard + 1;
        }

        if (start >= 0)
        {
            yield return (start, end);
        }
    }

    private static long[] NeverImported(int shards)
    {
        long[] stamps = new long[shards];
        Array.Fill(stamps, long.MinValue / 4); // far enough in the past whatever the clock's origin
        return stamps;
    }
}
