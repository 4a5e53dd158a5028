using System.Net;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Wire;

namespace StemeDb.Gateway;

/// <summary>What came back from the owner of a subject's range, or why nothing did.</summary>
/// <summary>An owner's answer; the body stays UTF-8 bytes, as it came (parsed from them, relayed as they are).</summary>
public sealed record Upstream(HttpStatusCode Status, byte[] Body, string? ContentType, NodeId? Node, string? Problem = null);

/// <summary>
/// Reaches the leader of a subject's range, with a per-request timeout. A connection failure demotes that
/// node in the routing cache and the next live replica is tried; a 421 answer refreshes the cache from
/// the descriptors it carries and the request is retried; anything else is the owner's answer. Writes
/// may be sent again to another replica because they are idempotent (content ids).
/// </summary>
public sealed class OwnerClient(RoutingTable table, IHttpClientFactory http, GatewayOptions options, ILogger<OwnerClient> logger)
{
    private const int MaxAttempts = 20;

    /// <param name="retryMoved">Retry after a 421 (the cache is refreshed either way); false hands the 421 back, for callers that regroup a batch.</param>
    public async Task<Upstream> SendAsync(string subject, Func<Uri, HttpRequestMessage> build, CancellationToken cancellationToken, bool retryMoved = true)
    {
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (table.Router is not { } router)
            {
                return new Upstream(HttpStatusCode.ServiceUnavailable, [], null, null, "The gateway has no routing table yet.");
            }

            RangeRoute route = router.Route(subject);
            if (!route.HasLiveReplica)
            {
                return new Upstream(HttpStatusCode.ServiceUnavailable, [], null, null, $"No live replica for shard {route.Shard}: replicas {string.Join(", ", route.Descriptor.Replicas)} are all down.");
            }

            NodeId node = route.Leader;
            if (table.AddressOf(node) is not { } address)
            {
                table.Demote(node);
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.RequestTimeout * 3); // the resilience handler's total budget
            try
            {
                using HttpRequestMessage request = build(address);
                using HttpResponseMessage response = await http.CreateClient("nodes").SendAsync(request, timeout.Token).ConfigureAwait(false);
                byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.MisdirectedRequest && TryDescriptors(body, out List<RangeDescriptorDto>? moved))
                {
                    table.Apply(moved!);
                    if (!retryMoved)
                    {
                        return new Upstream(response.StatusCode, body, response.Content.Headers.ContentType?.MediaType, node);
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(attempt + 1, 10)), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (response.StatusCode == HttpStatusCode.InternalServerError && IsSidecarInvokeFailure(body))
                {
                    // The sidecar could not reach the node's app (Dapr's 500 ERR_DIRECT_INVOKE): as good as a
                    // refused connection, so the next replica is tried, never the sidecar's error returned.
                    logger.LogWarning("The sidecar could not reach {Node}; trying the next replica", node);
                    table.Demote(node);
                    continue;
                }

                return new Upstream(response.StatusCode, body, response.Content.Headers.ContentType?.MediaType, node);
            }
            catch (Exception e) when (e is Polly.Timeout.TimeoutRejectedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return new Upstream(HttpStatusCode.GatewayTimeout, [], null, node, $"{node} did not answer within {options.RequestTimeout}.");
            }
            catch (Polly.CircuitBreaker.BrokenCircuitException)
            {
                // This node kept failing: route around it until it is reported alive again.
                table.Demote(node);
            }
            catch (HttpRequestException e)
            {
                logger.LogWarning("Request to {Node} failed ({Error}); trying the next replica", node, e.Message);
                table.Demote(node);
            }
        }

        return new Upstream(HttpStatusCode.ServiceUnavailable, [], null, null, "No replica could serve the request after repeated attempts.");
    }

    /// <summary>Dapr answers a failed invocation with 500 and <c>{"errorCode":"ERR_DIRECT_INVOKE",...}</c>; a node's own 500 is a problem+json body.</summary>
    internal static bool IsSidecarInvokeFailure(byte[] body)
    {
        try
        {
            using JsonDocument error = JsonDocument.Parse(body);
            return error.RootElement.ValueKind == JsonValueKind.Object
                && error.RootElement.TryGetProperty("errorCode", out JsonElement code)
                && code.ValueKind == JsonValueKind.String
                && code.GetString() == "ERR_DIRECT_INVOKE";
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryDescriptors(byte[] body, out List<RangeDescriptorDto>? descriptors)
    {
        descriptors = null;
        try
        {
            using JsonDocument problem = JsonDocument.Parse(body);
            if (problem.RootElement.TryGetProperty("descriptors", out JsonElement list))
            {
                descriptors = list.Deserialize<List<RangeDescriptorDto>>(JsonSerializerOptions.Web);
            }
        }
        catch (JsonException)
        {
        }

        return descriptors is { Count: > 0 };
    }
}
