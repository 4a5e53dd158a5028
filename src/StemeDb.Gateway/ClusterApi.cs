using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway;

/// <summary>Cluster views and health: members, ranges, liveness and readiness.</summary>
public static class ClusterApi
{
    /// <param name="RequestRate">Requests per second its leader coordinated for it, over the leader's load window (the rate load splits and leader balancing use).</param>
    public sealed record RangeView(string Id, int StartShard, int EndShard, long Generation, List<string> Replicas, string? Leader, long? SizeBytes, double? RequestRate = null);

    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder cluster = app.MapGroup("/v1/cluster").WithTags("cluster");
        cluster.MapGet("/members", (RoutingTable table) => Results.Ok(table.Members))
            .WithSummary("The members as the gateway last heard of them (SWIM state, app-id, HTTP address).");
        cluster.MapGet("/ranges", async (RoutingTable table, IHttpClientFactory http, GatewayOptions options, CancellationToken cancellationToken) =>
        {
            if (table.Router is not { } router)
            {
                return AssertionsApi.Problem(503, "Not ready", "The gateway has no routing table yet.");
            }

            // Sizes as each range's leader counts them: one request per live leader, in parallel, bounded by the timeout.
            var entries = router.Table.Current.Entries;
            var leaders = entries.Select(e => router.RouteShard(e.StartShard)).Where(r => r.HasLiveReplica).Select(r => r.Leader).Distinct().ToList();
            var reports = await Task.WhenAll(leaders.Select(async leader =>
            {
                if (table.AddressOf(leader) is not { } address)
                {
                    return (leader, (List<RangeSizeDto>?)null, (NodeLoadDto?)null);
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.RequestTimeout);
                HttpClient client = http.CreateClient("nodes");
                Task<List<RangeSizeDto>?> sizes = Fetch<List<RangeSizeDto>>(client, new Uri(address, InternalRoutes.RangeSizes), timeout.Token);
                Task<NodeLoadDto?> load = Fetch<NodeLoadDto>(client, new Uri(address, InternalRoutes.Load), timeout.Token);
                return (leader, await sizes, await load);
            }));
            var sizeOf = reports.Where(r => r.Item2 is not null).ToDictionary(r => r.leader, r => r.Item2!);
            var loadOf = reports.Where(r => r.Item3 is not null).ToDictionary(r => r.leader, r => r.Item3!);

            List<RangeView> ranges = [.. entries.Select(e =>
            {
                RangeRoute route = router.RouteShard(e.StartShard);
                NodeId? leader = route.HasLiveReplica ? route.Leader : null;
                long? size = leader is { } l && sizeOf.TryGetValue(l, out List<RangeSizeDto>? sizes)
                    ? sizes.FirstOrDefault(s => s.StartShard == e.StartShard && s.EndShard == e.EndShard)?.Bytes
                    : null;
                double? rate = leader is { } led && loadOf.TryGetValue(led, out NodeLoadDto? report)
                    ? report.Ranges.FirstOrDefault(r => r.StartShard == e.StartShard && r.EndShard == e.EndShard)?.Rate
                    : null;
                return new RangeView(e.Descriptor.Id.ToString(), e.StartShard, e.EndShard, e.Descriptor.Generation, [.. e.Descriptor.Replicas.Select(r => r.Value)], leader?.Value, size, rate);
            })];
            return Results.Ok(ranges);
        }).WithSummary("The ranges: shard span, generation, replicas, the replica that leads, and the bytes the leader holds.");

        return MapHealth(app);
    }

    // Size or load unknown for a leader's ranges when it does not answer in time: the view still answers.
    private static async Task<T?> Fetch<T>(HttpClient client, Uri uri, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await client.GetFromJsonAsync<T>(uri, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or Polly.Timeout.TimeoutRejectedException)
        {
            return null;
        }
    }

    private static IEndpointRouteBuilder MapHealth(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" })).WithTags("health");
        app.MapGet("/readyz", (RoutingTable table) => table.IsReady
            ? Results.Ok(new { status = "ready" })
            : AssertionsApi.Problem(503, "Not ready", "The gateway has no routing table or no live node yet.")).WithTags("health");
        return app;
    }
}
