using StemeDb.Contracts;
using System.Globalization;
using StemeDb.Cluster.Time;

namespace StemeDb.Node;

/// <summary>
/// What every call between nodes carries, both ways: the cluster id (a node of another cluster is
/// refused, 412, as etcd refuses a foreign X-Etcd-Cluster-ID) and the sender's hybrid logical clock, which
/// the receiver observes (and refuses, 412, when it is further ahead than the maximum offset).
/// Gateways are not nodes: their calls carry neither, and reach only the endpoints open to them.
/// </summary>
public static class InternalHeaders
{
    public const string Cluster = InternalHeaderNames.Cluster;
    public const string Clock = InternalHeaderNames.Clock;
    public const string Sender = InternalHeaderNames.Node;

    /// <summary>Endpoints only nodes call: without this node's cluster id a call is refused.</summary>
    private static readonly string[] PeerOnly =
    [
        InternalRoutes.Replicate,
        InternalRoutes.ReplicaRead,
        InternalRoutes.Prepare,
        InternalRoutes.Accept,
        InternalRoutes.RangeImport,
    ];

    /// <summary>Checks the cluster id and observes the clock of every internal request, and stamps every answer.</summary>
    public static IApplicationBuilder UseInternalHeaders(this IApplicationBuilder app, ClusterNode node)
    {
        string ours = node.ClusterId.ToString();
        return app.Use(async (context, next) =>
        {
            HttpRequest request = context.Request;
            if (!request.Path.StartsWithSegments(InternalRoutes.Root))
            {
                await next(context);
                return;
            }

            context.Response.OnStarting(() =>
            {
                context.Response.Headers[Clock] = node.Clock.Now().Packed.ToString(CultureInfo.InvariantCulture);
                context.Response.Headers[Cluster] = ours;
                context.Response.Headers[Sender] = node.Id.Value;
                return Task.CompletedTask;
            });

            string? theirs = request.Headers[Cluster];
            bool peerOnly = PeerOnly.Any(p => request.Path.StartsWithSegments(p)) || (request.Path.StartsWithSegments(InternalRoutes.MetaRange) && HttpMethods.IsPost(request.Method));
            if ((theirs is not null && theirs != ours) || (theirs is null && peerOnly))
            {
                await Results.Problem(
                    statusCode: StatusCodes.Status412PreconditionFailed,
                    title: "Another cluster",
                    detail: theirs is null
                        ? $"Only nodes of cluster {ours} may call {request.Path}; the call carries no {Cluster} header."
                        : $"This node belongs to cluster {ours}; the caller to cluster {theirs} (another genesis, shard count or cluster name).").ExecuteAsync(context);
                return;
            }

            if (request.Headers[Clock] is { Count: 1 } clock && ulong.TryParse(clock[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong packed)
                && !node.ObservePeerClock(HlcTimestamp.FromPacked(packed), request.Headers[Sender].ToString()))
            {
                await Results.Problem(
                    statusCode: StatusCodes.Status412PreconditionFailed,
                    title: "Clock too far ahead",
                    detail: $"The caller's clock is more than the maximum clock offset ahead of {node.Id}'s; refused so that no timestamp from the future enters the data.").ExecuteAsync(context);
                return;
            }

            await next(context);
        });
    }
}

/// <summary>
/// The client side of <see cref="InternalHeaders"/> on the "peers" HTTP client: stamps each call with the
/// cluster id, this node's id and its clock, and observes the clock of each answer. An answer from a peer
/// whose clock is too far ahead is turned into a failure (<see cref="HttpRequestException"/>): its data is
/// not taken.
/// </summary>
public sealed class PeerHeadersHandler(ClusterNode node) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.TryAddWithoutValidation(InternalHeaders.Cluster, node.ClusterId.ToString());
        request.Headers.TryAddWithoutValidation(InternalHeaders.Sender, node.Id.Value);
        request.Headers.TryAddWithoutValidation(InternalHeaders.Clock, node.Clock.Now().Packed.ToString(CultureInfo.InvariantCulture));
        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Headers.TryGetValues(InternalHeaders.Clock, out IEnumerable<string>? values)
            && ulong.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong packed)
            && !node.ObservePeerClock(HlcTimestamp.FromPacked(packed), response.Headers.TryGetValues(InternalHeaders.Sender, out IEnumerable<string>? sender) ? sender.First() : "unknown"))
        {
            response.Dispose();
            throw new HttpRequestException($"The answer of {request.RequestUri?.Authority} carries a clock too far ahead of {node.Id}'s; refused.");
        }

        return response;
    }
}
