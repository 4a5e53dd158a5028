using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Hosting;

/// <summary>
/// The subscription to the <c>meta-range</c> topic, as nodes and gateways take it (Dapr.AspNetCore: the
/// sidecar reads <c>/dapr/subscribe</c> once at start; deliveries arrive unwrapped by <c>UseCloudEvents</c>).
/// Applying a message is idempotent (the merge rule makes a duplicate a no-op), so the answer is SUCCESS;
/// DROP, with a log line, for a message that can never apply (malformed, another cluster's); RETRY on an
/// unexpected failure, since without a dead-letter topic a RETRY is the only way not to lose it.
/// </summary>
public static class MetaRangeSubscription
{
    public const string Route = "/events/meta-range";

    /// <param name="accept">Applies a message; null when taken, else why it can never apply.</param>
    public static WebApplication MapMetaRangeSubscription(this WebApplication app, string pubSubName, Func<IServiceProvider, MetaRangeDto?, string?> accept)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(accept);
        app.MapPost(Route, (MetaRangeDto? update, HttpContext context, ILoggerFactory loggers) =>
        {
            ILogger logger = loggers.CreateLogger(typeof(MetaRangeSubscription).FullName!);
            try
            {
                if (accept(context.RequestServices, update) is { } refused)
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
        }).WithTopic(pubSubName, Topics.MetaRange);
        return app;
    }
}
