using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway;

/// <summary>
/// <c>GET /v1/cluster/events</c>: the membership events as server-sent events, with Dapr or without
/// (README "Membership events"). Each event is <c>id:</c> (this gateway's sequence number), <c>event:</c>
/// (the CloudEvent type, <c>io.stemedb.membership.*</c>) and one <c>data:</c> line (the event's JSON).
/// </summary>
public static class EventStreamApi
{
    public const string Route = "/v1/cluster/events";
    public const string ContentType = "text/event-stream";

    public static IEndpointRouteBuilder MapEventStreamApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(Route, StreamAsync)
            .WithTags("cluster")
            .WithSummary("Membership events as server-sent events: the current view, then every change (io.stemedb.membership.joined, .suspect, .alive, .dead, .left).")
            .WithDescription(
                "text/event-stream. Each event: `id:` a sequence number of this gateway (decimal, increasing), `event:` the CloudEvent type " +
                $"({string.Join(", ", MembershipEventTypes.All)}), `data:` one line of JSON: {{key, kind, memberId, appId, httpAddress, swimAddress, state, incarnation, observedBy, time}}. " +
                "First one event per known member (kind = its state, observedBy = this gateway), then changes as the gateway's view takes them, each key " +
                "(`{memberId}@{incarnation}/{state}`) at most once. A `: keep-alive` comment line comes every 15 s (Gateway:EventsKeepAlive). Reconnect with " +
                "`Last-Event-ID` to get every retained event after it (Gateway:EventsRetained); an id older than what is retained, or not a number, gets the " +
                "current view again. A client that does not read is cut off (Gateway:EventsClientBuffer). Apply events by incarnation, never by arrival.")
            .Produces<string>(StatusCodes.Status200OK, ContentType); // a stream of text/event-stream frames
        return app;
    }

    private static async Task StreamAsync(HttpContext context, MembershipEventLog log, GatewayOptions options, TimeProvider time, ILoggerFactory loggers, IHostApplicationLifetime lifetime, CancellationToken requestAborted)
    {
        // Ends when the gateway stops, too: an open stream would hold the server's drain until the host's timeout.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lifetime.ApplicationStopping);
        CancellationToken cancellationToken = stopping.Token;
        // A malformed Last-Event-ID counts as absent, not 400: the view is always a correct start, and a
        // browser's EventSource resends whatever id it saw, so a refusal would only loop its reconnects.
        ulong? lastEventId = ulong.TryParse(context.Request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong id) ? id : null;
        using MembershipEventLog.Subscription subscription = log.Subscribe(lastEventId);
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, subscription.CutOff);
        CancellationToken token = stream.Token;

        context.Response.ContentType = ContentType;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no"; // proxies must pass each event on at once
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        Stream body = context.Response.Body;
        try
        {
            await body.FlushAsync(token); // the headers now: a client knows it is subscribed before any change
            foreach ((ulong seq, MembershipEventDto e) in subscription.First)
            {
                await WriteAsync(body, seq, e, token);
            }

            await body.FlushAsync(token);
            while (true)
            {
                while (subscription.Changes.TryRead(out (ulong Seq, MembershipEventDto Event) change))
                {
                    await WriteAsync(body, change.Seq, change.Event, token);
                }

                await body.FlushAsync(token);
                if (!await WaitOrKeepAliveAsync(subscription, body, options.EventsKeepAlive, time, token))
                {
                    return; // the gateway is stopping
                }
            }
        }
        catch (Exception e) when ((e is OperationCanceledException or SlowSubscriberException) && subscription.CutOff.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(EventStreamApi)).LogInformation("Cut off the event stream of {Client}: it fell {Buffer} events behind", context.Connection.RemoteIpAddress, options.EventsClientBuffer);
            context.Abort(); // close the connection: a write still queued for it never completes otherwise
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    /// <summary>Waits for a change; after <paramref name="keepAlive"/> without one writes the comment. False once the queue ends.</summary>
    private static async Task<bool> WaitOrKeepAliveAsync(MembershipEventLog.Subscription subscription, Stream body, TimeSpan keepAlive, TimeProvider time, CancellationToken token)
    {
        using var idle = new CancellationTokenSource(keepAlive, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(token, idle.Token);
        try
        {
            return await subscription.Changes.WaitToReadAsync(wait.Token);
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !token.IsCancellationRequested)
        {
            await body.WriteAsync(KeepAlive, token);
            return true;
        }
    }

    private static async Task WriteAsync(Stream body, ulong seq, MembershipEventDto e, CancellationToken cancellationToken)
    {
        string frame = $"id: {seq.ToString(CultureInfo.InvariantCulture)}\nevent: {e.Type}\ndata: {JsonSerializer.Serialize(e, JsonSerializerOptions.Web)}\n\n";
        await body.WriteAsync(Encoding.UTF8.GetBytes(frame), cancellationToken);
    }
}
