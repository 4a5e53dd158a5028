using StemeDb.Cluster.Wire;
using StemeDb.Storage.Wire;
using Dapr;

namespace StemeDb.Node;

/// <summary>
/// Dapr pub/sub subscriptions (Dapr.AspNetCore): <c>/dapr/subscribe</c> lists them for the sidecar, which
/// reads it once at start, and deliveries arrive as CloudEvents unwrapped by <c>UseCloudEvents</c>.
/// Handlers are idempotent (the meta-range merge is), answer RETRY on a transient failure and DROP, with a
/// log line, on a malformed event: without a dead-letter topic a RETRY is the only way not to lose it.
/// </summary>
public static class DaprApi
{
    public static WebApplication MapDaprApi(this WebApplication app, NodeOptions options)
    {
        app.MapSubscribeHandler();
        app.MapPost("/events/meta-range", OnMetaRange).WithTopic(options.PubSubName, DaprClusterBus.MetaRangeTopic);
        return app;
    }

    private static IResult OnMetaRange(MetaRangeDto? update, MetaRangeSync sync, ILogger<MetaRangeSync> logger)
    {
        try
        {
            if (sync.Accept(update, "the meta-range topic") is { } refused)
            {
                logger.LogWarning("Dropped a meta-range event: {Reason}", refused);
                return Results.Ok(new { status = "DROP" });
            }

            return Results.Ok(new { status = "SUCCESS" });
        }
        catch (Exception e)
        {
            logger.LogError(e, "A meta-range event failed; asking Dapr to deliver it again");
            return Results.Ok(new { status = "RETRY" });
        }
    }
}
