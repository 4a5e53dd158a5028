using StemeDb.Cluster.Sharding;

namespace StemeDb.Gateway;

/// <summary>Cluster views and health: members, ranges, liveness and readiness.</summary>
public static class ClusterApi
{
    public sealed record RangeView(string Id, int StartShard, int EndShard, long Generation, List<string> Replicas, string? Leader);

    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder cluster = app.MapGroup("/v1/cluster").WithTags("cluster");
        cluster.MapGet("/members", (RoutingTable table) => Results.Ok(table.Members))
            .WithSummary("The members as the gateway last heard of them (SWIM state, app-id, HTTP address).");
        cluster.MapGet("/ranges", (RoutingTable table) =>
        {
            if (table.Router is not { } router)
            {
                return AssertionsApi.Problem(503, "Not ready", "The gateway has no routing table yet.");
            }

            List<RangeView> ranges = [.. router.Table.Current.Entries.Select(e =>
            {
                RangeRoute route = router.RouteShard(e.StartShard);
                return new RangeView(e.Descriptor.Id.ToString(), e.StartShard, e.EndShard, e.Descriptor.Generation, [.. e.Descriptor.Replicas.Select(r => r.Value)], route.HasLiveReplica ? route.Leader.Value : null);
            })];
            return Results.Ok(ranges);
        }).WithSummary("The ranges: shard span, generation, replicas, and the replica that leads.");

        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" })).WithTags("health");
        app.MapGet("/readyz", (RoutingTable table) => table.IsReady
            ? Results.Ok(new { status = "ready" })
            : AssertionsApi.Problem(503, "Not ready", "The gateway has no routing table or no live node yet.")).WithTags("health");
        return app;
    }
}
