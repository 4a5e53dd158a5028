using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Features;
using StemeDb.Cluster.Membership;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node;

/// <summary>
/// <c>GET /internal/v1/members/watch</c>: this node's SWIM changes as they happen, for a gateway without
/// Dapr (which has no membership topic). JSON lines of <see cref="MembershipEventDto"/>: first this node's
/// member list (kind = state), then every change it observes; an empty line every
/// <see cref="Heartbeat"/> so the reader can tell a hung node from a quiet cluster.
/// </summary>
public static class MembershipStreamApi
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);

    /// <summary>Changes queued for one reader; one that falls this far behind is ended (it pulls the list again on reconnect).</summary>
    private const int Buffer = 1024;

    public static IEndpointRouteBuilder MapMembershipStreamApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(InternalRoutes.MembersWatch, WatchAsync);
        return app;
    }

    private static async Task WatchAsync(HttpContext context, ClusterNode node, TimeProvider time, IHostApplicationLifetime lifetime, CancellationToken requestAborted)
    {
        // Ends when the node stops, too: a stream left open holds the server's drain, so a SIGTERM'd node
        // was killed before it could leave the membership (container suite, rolling restart: dead, not left).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lifetime.ApplicationStopping);
        CancellationToken cancellationToken = stopping.Token;
        var queue = Channel.CreateBounded<MembershipEvent>(new BoundedChannelOptions(Buffer) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        void OnChanged(MembershipEvent e)
        {
            if (!queue.Writer.TryWrite(e))
            {
                queue.Writer.TryComplete(); // never block SWIM: this reader starts over with a fresh list
            }
        }

        // Subscribed before the list is taken: a change in between comes twice at worst, and the reader
        // applies by incarnation, so a duplicate is harmless and nothing falls between the two.
        node.Swim.Changed += OnChanged;
        try
        {
            context.Response.ContentType = "application/jsonl";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            Stream body = context.Response.Body;
            foreach (NodeInfo member in node.Swim.Members)
            {
                MemberDto dto = MemberDto.From(member);
                await WriteAsync(body, MembershipEventDto.Of(dto.State, dto, node.Id.Value, time.GetUtcNow()), cancellationToken);
            }

            await body.FlushAsync(cancellationToken);
            while (true)
            {
                using var idle = new CancellationTokenSource(Heartbeat, time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token);
                try
                {
                    if (!await queue.Reader.WaitToReadAsync(wait.Token))
                    {
                        return;
                    }
                }
                catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    await body.WriteAsync("\n"u8.ToArray(), cancellationToken);
                    await body.FlushAsync(cancellationToken);
                    continue;
                }

                while (queue.Reader.TryRead(out MembershipEvent? change))
                {
                    await WriteAsync(body, MembershipEventDto.From(change), cancellationToken);
                }

                await body.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The reader went away.
        }
        finally
        {
            node.Swim.Changed -= OnChanged;
        }
    }

    private static async Task WriteAsync(Stream body, MembershipEventDto e, CancellationToken cancellationToken)
    {
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(e, JsonSerializerOptions.Web);
        await body.WriteAsync(line, cancellationToken);
        await body.WriteAsync("\n"u8.ToArray(), cancellationToken);
    }
}
