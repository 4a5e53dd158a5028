using StemeDb.Cluster.Wire;
using StemeDb.Storage.Wire;
using System.Net.Http.Json;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// The range work of a leader, every <see cref="NodeOptions.RangeCheckInterval"/>: it asks the
/// <see cref="RangeManager"/> what to do with the ranges it leads and does it. Splits, merges and repairs
/// change metadata only (the replicas already hold the data). A replaced replica is filled before the new
/// descriptor is published, and once more after it (to catch the writes made meanwhile). Anti-entropy
/// compares range digests with the other replicas and exchanges records where they differ. Data of ranges
/// this node no longer replicates is dropped after a grace period, never while an import is fresh.
/// </summary>
public sealed class RangeWorker(
    ClusterNode node,
    RocksDbAssertionStore store,
    ClusterConfig config,
    NodeOptions options,
    IHttpClientFactory http,
    TimeProvider time,
    ILogger<RangeWorker> logger) : BackgroundService
{
    private const int PageSize = 500;
    private readonly RangeManager _manager = new(config.Sharding);
    private readonly long[] _lastImport = NeverImported(config.Sharding.ShardCount);
    private long _nextAntiEntropy; // only the worker's loop reads and writes it

    private static long[] NeverImported(int shards)
    {
        long[] stamps = new long[shards];
        Array.Fill(stamps, long.MinValue / 4); // far enough in the past whatever the clock's origin
        return stamps;
    }

    /// <summary>Records that shards <c>[start, end)</c> just received data, so it is not dropped as foreign.</summary>
    public void NoteImport(int start, int end)
    {
        long now = time.GetTimestamp();
        for (int shard = start; shard < end; shard++)
        {
            Interlocked.Exchange(ref _lastImport[shard], now);
        }
    }

    /// <summary>One round: plan and carry out, drop foreign data, and anti-entropy when it is due.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        HashSet<NodeId> live = [.. node.Swim.ActiveMembers.Select(m => m.Id)];
        RangePlan plan = _manager.Plan(node.Table.Current, store.Sizes(), live, node.Id, node.Clock.Now());
        foreach (RangeChange change in plan.Changes)
        {
            await CarryOutAsync(change, cancellationToken).ConfigureAwait(false);
        }

        foreach (MetaRangeEntry entry in plan.Unavailable)
        {
            logger.LogError("Range {Range} [{Start}, {End}) has no live replica; its data waits on {Replicas}", entry.Descriptor.Id, entry.StartShard, entry.EndShard, string.Join(", ", entry.Descriptor.Replicas));
        }

        DropForeignData();
        if (time.GetTimestamp() >= _nextAntiEntropy)
        {
            await AntiEntropyAsync(cancellationToken).ConfigureAwait(false);
            _nextAntiEntropy = time.GetTimestamp() + (long)(options.AntiEntropyInterval.TotalSeconds * time.TimestampFrequency);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _nextAntiEntropy = time.GetTimestamp() + (long)(options.AntiEntropyInterval.TotalSeconds * time.TimestampFrequency);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.RangeCheckInterval, time, stoppingToken).ConfigureAwait(false);
                if (node.IsReady)
                {
                    await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidOperationException)
            {
                logger.LogWarning(e, "Range work round failed; it is tried again next round");
            }
            catch (Exception e)
            {
                // Never end the loop (the host would stop with it): range work is retried from the table next round.
                logger.LogError(e, "Range work round failed unexpectedly; it is tried again next round");
            }
        }
    }

    private async Task CarryOutAsync(RangeChange change, CancellationToken cancellationToken)
    {
        MetaRangeEntry entry = change.Replaces[0];
        if (change.Kind == RangeChangeKind.Replicate)
        {
            RangeDescriptor next = change.Update.Descriptors[0];
            NodeId[] newcomers = [.. next.Replicas.Where(r => !entry.Descriptor.Replicas.Contains(r))];
            foreach (NodeId newcomer in newcomers)
            {
                if (!await StreamAsync(entry.StartShard, entry.EndShard, newcomer, cancellationToken).ConfigureAwait(false))
                {
                    logger.LogWarning("Could not fill {Node} with range {Range}; the replica change waits for the next round", newcomer, entry.Descriptor.Id);
                    return;
                }
            }

            await node.PublishAsync(change.Update, cancellationToken).ConfigureAwait(false);
            foreach (NodeId newcomer in newcomers)
            {
                await StreamAsync(entry.StartShard, entry.EndShard, newcomer, cancellationToken).ConfigureAwait(false); // catch-up
            }
        }
        else
        {
            await node.PublishAsync(change.Update, cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation("Range {Kind}: {Reason}; now {Descriptors}", change.Kind, change.Reason, string.Join("; ", change.Update.Descriptors));
    }

    /// <summary>Sends every record of shards <c>[start, end)</c> to <paramref name="target"/>, a page at a time.</summary>
    private async Task<bool> StreamAsync(int start, int end, NodeId target, CancellationToken cancellationToken)
    {
        if (node.AddressOf(target) is not { } address)
        {
            return false;
        }

        byte[]? cursor = null;
        while (true)
        {
            IReadOnlyList<StoredRecord> page = store.ExportPage(start, end, cursor, PageSize);
            if (page.Count == 0)
            {
                return true;
            }

            using HttpResponseMessage response = await http.CreateClient("peers")
                .PostAsJsonAsync(new Uri(address, $"/internal/v1/ranges/import?start={start}&end={end}"), page.Select(RecordDto.From).ToList(), cancellationToken)
                .ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            cursor = page[^1].Key;
        }
    }

    private async Task AntiEntropyAsync(CancellationToken cancellationToken)
    {
        foreach (MetaRangeEntry entry in node.Table.Current.Entries)
        {
            RangeRoute route = node.Router.RouteShard(entry.StartShard);
            if (!route.HasLiveReplica || route.Leader != node.Id)
            {
                continue;
            }

            string? mine = null; // computed once per range, and only when there is a replica to compare with
            foreach (NodeId replica in route.LiveReplicas.ToArray())
            {
                if (replica == node.Id || node.AddressOf(replica) is not { } address)
                {
                    continue;
                }

                mine ??= store.Digest(entry.StartShard, entry.EndShard);
                DigestDto? theirs = await http.CreateClient("peers")
                    .GetFromJsonAsync<DigestDto>(new Uri(address, $"/internal/v1/ranges/digest?start={entry.StartShard}&end={entry.EndShard}"), cancellationToken)
                    .ConfigureAwait(false);
                if (theirs is null || theirs.Digest == mine)
                {
                    continue;
                }

                int pulled = await PullAsync(entry.StartShard, entry.EndShard, address, cancellationToken).ConfigureAwait(false);
                await StreamAsync(entry.StartShard, entry.EndShard, replica, cancellationToken).ConfigureAwait(false);
                mine = null; // what was pulled changed it
                logger.LogInformation("Anti-entropy with {Replica} on [{Start}, {End}): pulled {Pulled} records, pushed ours", replica, entry.StartShard, entry.EndShard, pulled);
            }
        }
    }

    private async Task<int> PullAsync(int start, int end, Uri address, CancellationToken cancellationToken)
    {
        int added = 0;
        string? cursor = null;
        do
        {
            string query = $"/internal/v1/ranges/export?start={start}&end={end}&limit={PageSize}" + (cursor is null ? "" : $"&after={Uri.EscapeDataString(cursor)}");
            RecordPage? page = await http.CreateClient("peers").GetFromJsonAsync<RecordPage>(new Uri(address, query), cancellationToken).ConfigureAwait(false);
            if (page is null)
            {
                break;
            }

            added += store.Import(page.Records.Select(r => r.ToRecord()), start, end);
            cursor = page.Next;
        }
        while (cursor is not null);
        return added;
    }

    private void DropForeignData()
    {
        ShardSizes sizes = store.Sizes();
        HlcTimestamp now = node.Clock.Now();
        long graceTicks = (long)(options.DropGrace.TotalSeconds * time.TimestampFrequency);
        foreach (MetaRangeEntry entry in node.Table.Current.Entries)
        {
            if (entry.Descriptor.Replicas.Contains(node.Id) || sizes.Of(entry.StartShard, entry.EndShard) == 0)
            {
                continue;
            }

            bool settled = now.WallMilliseconds - entry.Descriptor.Timestamp.WallMilliseconds >= (long)options.DropGrace.TotalMilliseconds;
            bool importedLately = Enumerable.Range(entry.StartShard, entry.ShardCount).Any(s => time.GetTimestamp() - Interlocked.Read(ref _lastImport[s]) < graceTicks);
            if (settled && !importedLately)
            {
                store.DeleteRange(entry.StartShard, entry.EndShard);
                logger.LogInformation("Dropped the data of [{Start}, {End}): range {Range} is replicated by {Replicas}, not here", entry.StartShard, entry.EndShard, entry.Descriptor.Id, string.Join(", ", entry.Descriptor.Replicas));
            }
        }
    }
}
