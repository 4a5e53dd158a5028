using System.Net.Http.Headers;

namespace StemeDb.Dapr.Testing;

/// <summary>One event to the subscribing app, tried again per the component's inbound resiliency policy.</summary>
internal static class EventDelivery
{
    /// <summary>No policy: daprd has no timeout of its own; this only bounds a hung app.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(100);

    /// <summary>
    /// <c>POST</c> of the stored envelope as <c>application/cloudevents+json</c>, with <c>pubsubname</c>, the
    /// publish metadata and <c>traceparent</c> as headers. A retried answer, a failing status, a timeout or no
    /// connection are tried again while the retry policy allows; then the event is given up (exhausted).
    /// </summary>
    // daprd: pkg/runtime/subscription/postman/http/http.go Deliver; pkg/resiliency/resiliency.go ComponentInboundPolicy; contrib pubsub/redis/redis.go processMessage
    public static async Task<DeliveryOutcome> DeliverAsync(AppChannel channel, PolicyDefinition policy, string pubsub, string route, byte[] envelope, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (CloudEventEnvelope.IsExpired(envelope))
        {
            return DeliveryOutcome.Dropped;
        }

        string? traceparent = CloudEventEnvelope.Traceparent(envelope);
        for (int retries = 0; ; retries++)
        {
            int? status = null;
            var content = new ByteArrayContent(envelope);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
            using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri(channel.AppAddress, route)) { Content = content })
            {
                request.Headers.TryAddWithoutValidation("pubsubname", pubsub);
                foreach ((string key, string value) in metadata)
                {
                    request.Headers.TryAddWithoutValidation(key, value);
                }

                if (traceparent is not null)
                {
                    request.Headers.TryAddWithoutValidation("traceparent", traceparent);
                }

                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(policy.Timeout ?? DefaultTimeout);
                try
                {
                    using HttpResponseMessage response = await channel.SendAsync(request, deadline.Token);
                    AppResponseStatus.Verdict verdict = AppResponseStatus.Classify(response.StatusCode, await response.Content.ReadAsStringAsync(deadline.Token));
                    if (verdict == AppResponseStatus.Verdict.Success)
                    {
                        return DeliveryOutcome.Delivered;
                    }

                    if (verdict == AppResponseStatus.Verdict.Drop)
                    {
                        return DeliveryOutcome.Dropped;
                    }

                    // A RETRY (or unknown) status string is not an HTTP status: matching does not filter it.
                    status = response.IsSuccessStatusCode ? null : (int)response.StatusCode;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The per-attempt timeout: a failure like any other, retried (the old stand-in lost it silently).
                }
                catch (HttpRequestException)
                {
                    // No connection: retried.
                }
                catch (OperationCanceledException)
                {
                    return DeliveryOutcome.Abandoned;
                }
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return DeliveryOutcome.Abandoned;
            }

            if (policy.Retry is not { } retry || !retry.ShouldRetry(retries, status))
            {
                return DeliveryOutcome.Exhausted;
            }

            try
            {
                await Task.Delay(retry.Delay(retries), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return DeliveryOutcome.Abandoned;
            }
        }
    }
}
