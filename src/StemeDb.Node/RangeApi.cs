using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// Moving range data between replicas: paged export, import (merge by union), per-shard digests. Used by range
/// leaders to fill a new replica and by anti-entropy; internal, never routed through the gateway.
/// </summary>
public static class RangeApi
{
    public const int MaxPage = 2000;

    public static IEndpointRouteBuilder MapRangeApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(InternalRoutes.RangeExport, Export);
        app.MapPost(InternalRoutes.RangeImport, ImportAsync);
        app.MapGet(InternalRoutes.RangeDigests, (int start, int end, RocksDbAssertionStore store) =>
            ValidSpan(start, end, store) ?? Results.Ok(store.ShardDigests(start, end).Select(d => new ShardDigestDto(d.Shard, d.Digest)).ToList()));
        app.MapGet(InternalRoutes.Load, (ClusterNode node, LoadTracker load) =>
        {
            // The rate of every range this node leads, from the requests it coordinated.
            ShardLoad rates = load.Current;
            return Results.Ok(new NodeLoadDto(
                node.Id.Value,
                rates.Of(0, rates.ShardCount),
                [.. node.Table.Current.Entries
                    .Where(e => node.Router.RouteShard(e.StartShard) is { HasLiveReplica: true } route && route.Leader == node.Id)
                    .Select(e => new RangeLoadDto(e.StartShard, e.EndShard, rates.Of(e.StartShard, e.EndShard)))]));
        });
        app.MapGet(InternalRoutes.RangeSizes, (ClusterNode node, RocksDbAssertionStore store) =>
        {
            // The bytes of each range this node holds a replica of, as its store counts them.
            Cluster.Sharding.ShardSizes sizes = store.Sizes();
            return Results.Ok(node.Table.Current.Entries
                .Where(e => e.Descriptor.Replicas.Contains(node.Id))
                .Select(e => new RangeSizeDto(e.StartShard, e.EndShard, sizes.Of(e.StartShard, e.EndShard)))
                .ToList());
        });
        return app;
    }

    private static IResult Export(int start, int end, string? after, int? limit, RocksDbAssertionStore store)
    {
        if (ValidSpan(start, end, store) is { } invalid)
        {
            return invalid;
        }

        byte[]? cursor = null;
        if (after is not null)
        {
            try
            {
                cursor = Convert.FromBase64String(after);
            }
            catch (FormatException)
            {
                return Problem(400, "after must be base64.");
            }
        }

        int size = Math.Clamp(limit ?? 500, 1, MaxPage);
        IReadOnlyList<StoredRecord> page = store.ExportPage(start, end, cursor, size);
        string? next = page.Count == size ? Convert.ToBase64String(page[^1].Key) : null;
        return Results.Ok(new RecordPage([.. page.Select(RecordDto.From)], next));
    }

    private static async Task<IResult> ImportAsync(int start, int end, List<RecordDto>? records, RocksDbAssertionStore store, RangeData data, StoreHealth health)
    {
        if (ValidSpan(start, end, store) is { } invalid)
        {
            return invalid;
        }

        if (records is null || records.Count > MaxPage)
        {
            return Problem(400, $"The body must be a list of at most {MaxPage} records.");
        }

        try
        {
            data.NoteImport(start, end);
            int added = await store.ImportAsync(records.Select(r => r.ToRecord()), start, end);
            return Results.Ok(new { added });
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            return Problem(400, e.Message);
        }
        catch (StorageException e)
        {
            health.Failed(e);
            return Problems.Unavailable("Store failed", e.Message, retryElsewhere: true);
        }
    }

    private static IResult? ValidSpan(int start, int end, RocksDbAssertionStore store) =>
        start < 0 || end > store.ShardCount || end <= start
            ? Problem(400, $"[{start}, {end}) is not a span of shards 0..{store.ShardCount}.")
            : null;

    private static IResult Problem(int status, string detail) => Results.Problem(statusCode: status, title: "Invalid request", detail: detail);
}
