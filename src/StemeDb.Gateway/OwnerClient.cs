using System.Net;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway;

/// <summary>An owner's answer; the body stays UTF-8 bytes, as it came (parsed from them, relayed as they are).</summary>
public sealed record Upstream(HttpStatusCode Status, byte[] Body, string? ContentType, NodeId? Node, string? Problem = null);

/// <summary>
/// Reaches a replica of a subject's range, the leader first, within <c>3 × Gateway:RequestTimeout</c> in
/// all. Any replica coordinates, so when one cannot serve the request another is asked: a connection
/// failure or a timeout demotes that node in the routing cache (for a while, see
/// <see cref="RoutingTable.Demote"/>); a 503 that says <c>retryElsewhere</c> (the node's store failed, or it
/// could not reach a majority) skips it for this request only; a 421 refreshes the cache from the
/// descriptors it carries and the request is sent again; a sidecar's own failure is classified by
/// <see cref="SidecarFailure"/> (only an unreachable node is demoted). Anything else is the answer. Sending a write
/// again, to the same node or another, is safe: writes are idempotent (content ids).
/// </summary>
public sealed class OwnerClient(RoutingTable table, IHttpClientFactory http, GatewayOptions options, ILogger<OwnerClient> logger)
{
    private const int MaxAttempts = 20;

    /// <param name="retryMoved">Retry after a 421 (the cache is refreshed either way); false hands the 421 back, for callers that regroup a batch.</param>
    public async Task<Upstream> SendAsync(string subject, Func<Uri, HttpRequestMessage> build, CancellationToken cancellationToken, bool retryMoved = true)
    {
        using var total = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        total.CancelAfter(options.RequestTimeout * 3);
        var skipped = new HashSet<NodeId>();
        Upstream? refused = null;
        NodeId? last = null;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (table.Router is not { } router)
            {
                return new Upstream(HttpStatusCode.ServiceUnavailable, [], null, null, "The gateway has no routing table yet.");
            }

            RangeRoute route = router.Route(subject);
            NodeId? next = null;
            foreach (NodeId replica in route.LiveReplicas)
            {
                if (!skipped.Contains(replica))
                {
                    next = replica;
                    break;
                }
            }

            // As a last resort, replicas this gateway demoted that membership still calls alive.
            foreach (NodeId replica in route.Descriptor.Replicas)
            {
                if (next is null && !skipped.Contains(replica) && table.IsMember(replica))
                {
                    next = replica;
                }
            }

            if (next is not { } node)
            {
                // Every live replica was asked: the last refusal, or nobody to ask.
                return refused ?? new Upstream(HttpStatusCode.ServiceUnavailable, [], null, null, $"No live replica for shard {route.Shard}: replicas {string.Join(", ", route.Descriptor.Replicas)} are all down or unreachable from this gateway.");
            }

            last = node;
            if (table.AddressOf(node) is not { } address)
            {
                table.Demote(node);
                skipped.Add(node);
                continue;
            }

            try
            {
                using HttpRequestMessage request = build(address);
                using HttpResponseMessage response = await http.CreateClient("nodes").SendAsync(request, total.Token).ConfigureAwait(false);
                byte[] body = await response.Content.ReadAsByteArrayAsync(total.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.MisdirectedRequest && Misdirected.Descriptors(body) is { Count: > 0 } moved)
                {
                    table.Apply(moved);
                    if (!retryMoved)
                    {
                        return new Upstream(response.StatusCode, body, response.Content.Headers.ContentType?.MediaType, node);
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(attempt + 1, 10)), total.Token).ConfigureAwait(false);
                    continue;
                }

                if (response.StatusCode == HttpStatusCode.InternalServerError && SidecarFailure.Classify(body) is { } failure)
                {
                    // The sidecar's own failure (Dapr's 500 ERR_DIRECT_INVOKE), never the node's answer: only
                    // an unreachable node is demoted; an open breaker is the sidecar's counting (it may count
                    // the nodes' own 421 and 503), so only this request goes elsewhere; a method the sidecar
                    // refuses would be refused for every replica.
                    switch (failure.Kind)
                    {
                        case SidecarFailureKind.Unreachable:
                            logger.LogWarning("The sidecar could not reach {Node} ({Message}); trying the next replica", node, failure.Message);
                            table.Demote(node);
                            skipped.Add(node);
                            continue;
                        case SidecarFailureKind.BreakerOpen:
                            logger.LogWarning("The sidecar's circuit breaker toward {Node} is open; trying the next replica for this request", node);
                            skipped.Add(node);
                            refused = new Upstream(HttpStatusCode.ServiceUnavailable, [], null, node, $"The sidecar's circuit breaker toward {node} is open: {failure.Message}");
                            continue;
                        default:
                            return new Upstream(HttpStatusCode.BadGateway, [], null, node, $"The sidecar refused the call to {node}: {failure.Message}");
                    }
                }

                var answer = new Upstream(response.StatusCode, body, response.Content.Headers.ContentType?.MediaType, node);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && Misdirected.SaysRetryElsewhere(body))
                {
                    // This node could not do it (its store, or no majority from where it stands); another may.
                    skipped.Add(node);
                    refused = answer;
                    continue;
                }

                return answer;
            }
            catch (Exception e) when (e is Polly.Timeout.TimeoutRejectedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested && !total.IsCancellationRequested))
            {
                // No answer in time: this gateway may be cut off from that node alone. Writes are idempotent,
                // so another replica is asked; the node is routed around for a while.
                logger.LogWarning("{Node} did not answer within {Timeout}; trying the next replica", node, options.RequestTimeout);
                table.Demote(node);
                skipped.Add(node);
                refused = new Upstream(HttpStatusCode.GatewayTimeout, [], null, node, $"{node} did not answer within {options.RequestTimeout}.");
            }
            catch (OperationCanceledException) when (total.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return new Upstream(HttpStatusCode.GatewayTimeout, [], null, node, $"No replica answered within {options.RequestTimeout * 3} (last asked: {node}).");
            }
            catch (HttpRequestException e)
            {
                logger.LogWarning("Request to {Node} failed ({Error}); trying the next replica", node, e.Message);
                table.Demote(node);
                skipped.Add(node);
            }
        }

        return refused ?? new Upstream(HttpStatusCode.ServiceUnavailable, [], null, last, "No replica could serve the request after repeated attempts.");
    }
}
