using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// The caller's sidecar side of service invocation: the method checked and cleaned, the callee found, the
/// headers prepared, and the call run as retry(breaker(timeout(call))) under the callee app's policy.
/// </summary>
internal sealed class ServiceInvocation(StandInSidecar caller)
{
    /// <summary>No policy: no timeout of daprd's own; this only keeps a hung app from holding a test forever.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(100);

    private readonly ConcurrentDictionary<string, CircuitBreaker> _breakers = new();

    public async Task InvokeAsync(HttpContext context, InvocationTarget target)
    {
        // daprd: pkg/messaging/method/normalize.go NormalizeMethod (the caller checks before anything is sent)
        if (MethodPath.Normalize(target.Method) is not { } method)
        {
            await DaprErrors.InvokeFailedAsync(context, target.AppId, $"invalid method: {target.Method}");
            return;
        }

        // daprd: pkg/messaging/direct_messaging.go requestAppIDAndNamespace
        (string app, string? @namespace) = target.Split();
        if ((@namespace is not null && @namespace != caller.Namespace) || !caller.Registry.TryGetValue(app, out StandInSidecar? callee))
        {
            await DaprErrors.InvokeFailedAsync(context, target.AppId, $"couldn't find service: {target.AppId}");
            return;
        }

        PolicyDefinition policy = caller.Resiliency is { } resiliency && resiliency.AppliesTo(caller.AppId) ? resiliency.App(target.AppId) : PolicyDefinition.None;
        HttpRequest request = context.Request;
        // No Content-Length: a streamed body, which cannot be replayed, so it is never retried.
        // daprd: pkg/api/http/directmessaging.go onDirectMessage (streaming since v1.18.0)
        bool streaming = request.ContentLength is null && request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase);
        byte[] body = [];
        if (!streaming)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }

        List<KeyValuePair<string, string[]>> headers = InvocationHeaders.FromCaller(request.Headers, caller.DaprApiToken is not null);
        // daprd: pkg/channel/http/http_channel.go constructRequest (traceparent/tracestate forwarded; the sidecar's span)
        InvocationHeaders.Set(headers, "traceparent", TraceContext.ChildOf(InvocationHeaders.Get(headers, "traceparent")));
        if (callee != caller)
        {
            InvocationHeaders.AddForRemoteCallee(headers, caller.HostAddress, caller.HostName, caller.AppId, caller.Namespace, app);
        }

        string rawQuery = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget is { } raw && raw.IndexOf('?') is var q and >= 0 ? raw[(q + 1)..] : "";
        for (int retries = 0; ; retries++)
        {
            // daprd: pkg/resiliency/resiliency.go EndpointPolicy (one breaker per <id>:<method>)
            CircuitBreaker? breaker = policy.CircuitBreaker is { } breakerPolicy ? _breakers.GetOrAdd($"{target.AppId}:{method}", _ => new CircuitBreaker(breakerPolicy)) : null;
            if (breaker is not null && !breaker.TryEnter(out string? refusal))
            {
                await DaprErrors.InvokeFailedAsync(context, target.AppId, refusal!);
                return;
            }

            (HttpResponseMessage? response, byte[] answer, string? error) = await AttemptAsync(context, callee, request.Method, method, rawQuery, headers, streaming ? new StreamContent(request.Body) : Content(body, request), policy.Timeout ?? DefaultTimeout);
            using (response)
            {
                int? status = response is null ? null : (int)response.StatusCode;
                // daprd: pkg/resiliency/resiliency.go EndpointPolicy (app statuses outside 200-399 are failures)
                bool failed = status is not (>= 200 and <= 399);
                breaker?.Record(!failed);
                // daprd: pkg/resiliency/policy.go NewRunnerWithOptions (after the last try the caller gets the app's answer)
                if (!failed || streaming || policy.Retry is not { } retry || !retry.ShouldRetry(retries, status) || context.RequestAborted.IsCancellationRequested)
                {
                    if (response is not null)
                    {
                        await InvocationHeaders.CopyResponseAsync(response, answer, context.Response, context.RequestAborted);
                    }
                    else
                    {
                        await DaprErrors.InvokeFailedAsync(context, target.AppId, error!);
                    }

                    return;
                }

                await Task.Delay(retry.Delay(retries), context.RequestAborted);
            }
        }
    }

    /// <summary>One try under the per-attempt timeout: the app's response and body, or the failure without a status.</summary>
    private static async Task<(HttpResponseMessage? Response, byte[] Body, string? Error)> AttemptAsync(
        HttpContext context, StandInSidecar callee, string httpMethod, string method, string rawQuery, List<KeyValuePair<string, string[]>> headers, HttpContent? content, TimeSpan timeout)
    {
        // daprd: pkg/messaging/method/normalize.go NormalizeMethod (the callee checks again)
        string? parseError = null;
        HttpRequestMessage? request = MethodPath.Normalize(method) is { } checkedMethod
            ? callee.Channel.InvocationRequest(httpMethod, checkedMethod, rawQuery, headers, content, out parseError)
            : null;
        if (request is null)
        {
            content?.Dispose();
            return (null, [], parseError is null ? $"invalid method: {method}" : $"error creating request: {parseError}");
        }

        using (request)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(timeout);
            HttpResponseMessage? response = null;
            try
            {
                response = await callee.Channel.SendAsync(request, deadline.Token);
                return (response, await response.Content.ReadAsByteArrayAsync(deadline.Token), null);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                response?.Dispose();
                // daprd: pkg/api/http/directmessaging_test.go TestV1DirectMessagingEndpointsWithResiliency (timeout)
                return (null, [], "context deadline exceeded");
            }
            catch (HttpRequestException e)
            {
                response?.Dispose();
                return (null, [], e.Message);
            }
        }
    }

    private static ByteArrayContent? Content(byte[] body, HttpRequest request) =>
        body.Length > 0 || request.ContentType is not null || request.ContentLength is > 0 ? new ByteArrayContent(body) : null;
}
