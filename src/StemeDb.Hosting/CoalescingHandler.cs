using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Hosting;

/// <summary>
/// Concurrent internal calls to the same node travel together: a <see cref="Coalescer{TKey, TItem, TResult}"/>
/// per client, keyed by the node's address (its URL, or its app-id before the sidecar's handler), lets
/// <see cref="MaxInFlight"/> calls to a node be out; the POSTs of <c>routes</c> that arrive meanwhile go as one
/// <see cref="InternalRoutes.Batch"/> call, whose answers stream back as each call finishes (a slow call holds
/// up no other) and become one response each, as if each had been sent alone (same status, body and
/// headers). Everything above this handler (deadlines, retries, failover) sees
/// only its own request and response. A call alone, or too big to share, goes unchanged. A node that does not
/// know the batch route (404 or 405, an older version) gets each call alone, and no batch for a while. A
/// batch that fails fails each of its calls the same way, as each would have failed at that node.
/// </summary>
public sealed class CoalescingHandler : DelegatingHandler
{
    /// <summary>Calls to one node at a time; more wait and go together.</summary>
    public const int MaxInFlight = 2;

    /// <summary>Calls in one batch.</summary>
    public const int MaxCalls = 256;

    /// <summary>Body bytes of one batch, well below what a node reads (<see cref="RequestLimits.MaxNodeBodyBytes"/>).</summary>
    public const long MaxBytes = 1L << 20;

    private static readonly TimeSpan NoBatchesFor = TimeSpan.FromMinutes(5);

    private readonly string[] _routes;
    private readonly TimeProvider _time;
    private readonly Coalescer<string, Call, HttpResponseMessage> _calls;
    private readonly ConcurrentDictionary<string, long> _noBatchesUntil = new(StringComparer.Ordinal);

    /// <param name="routes">The internal routes whose POSTs may travel together.</param>
    public CoalescingHandler(IEnumerable<string> routes, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(routes);
        _routes = [.. routes];
        _time = time;
        _calls = new Coalescer<string, Call, HttpResponseMessage>(MaxInFlight, MaxCalls, MaxBytes, SendCallsAsync, abandoned: response => response.Dispose());
    }

    /// <summary>Batches sent (calls that carried more than one request).</summary>
    public long Batches => _calls.Combined;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method != HttpMethod.Post || request.Content is null || !TryRoute(request.RequestUri, out string? node, out string? route)
            || (_noBatchesUntil.TryGetValue(node, out long until) && _time.GetTimestamp() < until))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        // The body is read once here (a JsonContent serializes as it is read) and kept, to send alone or in a batch.
        byte[] body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var content = new ByteArrayContent(body);
        foreach (KeyValuePair<string, IEnumerable<string>> header in request.Content.Headers)
        {
            content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        request.Content.Dispose();
        request.Content = content;
        if (body.Length > MaxBytes / 2)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false); // big enough alone
        }

        return await _calls.SendAsync(node, new Call(request, route, body, Activity.Current), 1, body.Length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The node part of the URI (everything before the route) and the route, for a POST of one of <see cref="_routes"/>.</summary>
    private bool TryRoute(Uri? uri, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? node, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? route)
    {
        node = route = null;
        if (uri is null || !uri.IsAbsoluteUri || uri.Query.Length > 0)
        {
            return false;
        }

        string path = uri.AbsolutePath;
        foreach (string candidate in _routes)
        {
            if (path.EndsWith(candidate, StringComparison.Ordinal))
            {
                route = candidate;
                node = uri.GetLeftPart(UriPartial.Authority) + path[..^candidate.Length];
                return true;
            }
        }

        return false;
    }

    private async Task SendCallsAsync(string node, IReadOnlyList<Call> calls, Action<int, HttpResponseMessage> answer, CancellationToken cancellationToken)
    {
        // A call may be sent from another call's flow (whoever finished and found it waiting): its own trace goes on.
        if (calls.Count == 1)
        {
            Activity.Current = calls[0].Parent;
            answer(0, await base.SendAsync(calls[0].Request, cancellationToken).ConfigureAwait(false));
            return;
        }

        // The batch's own HTTP span belongs to no one call's trace: each call carries its own traceparent.
        Activity.Current = null;
        using var batch = new HttpRequestMessage(HttpMethod.Post, new Uri(node + InternalRoutes.Batch));
        foreach (KeyValuePair<string, IEnumerable<string>> header in calls[0].Request.Headers)
        {
            batch.Headers.TryAddWithoutValidation(header.Key, header.Value); // tokens, cluster id, clock: the same for every call to this node
        }

        var buffer = new ArrayBufferWriter<byte>(calls.Sum(c => c.Body.Length + 64) + 32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            BatchCall.WriteBatch(writer, calls.Select(c => (c.Route, c.Body, c.Parent is { IdFormat: ActivityIdFormat.W3C } parent ? parent.Id : null)));
        }

        batch.Content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        batch.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        // Below HttpClient the answer comes back once its headers are read: its lines are read as they come.
        using HttpResponseMessage response = await base.SendAsync(batch, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
        {
            // A node without the batch route: each call alone, now and for a while.
            _noBatchesUntil[node] = _time.GetTimestamp() + (long)(NoBatchesFor.TotalSeconds * _time.TimestampFrequency);
            await Task.WhenAll(calls.Select(async (c, i) => answer(i, await base.SendAsync(c.Request, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
            return;
        }

        if (response.StatusCode != HttpStatusCode.OK && (int)response.StatusCode < 400)
        {
            // Not an answer to a batch, and no refusal either: as a connection that broke under each call.
            throw new HttpRequestException($"{node} answered a batch with {(int)response.StatusCode}, which answers none of its calls.");
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            // Refused as a whole (a token, the cluster id, a sidecar's own failure): each call would have been too.
            byte[] refusal = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < calls.Count; i++)
            {
                answer(i, Answer(calls[i], response, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), refusal));
            }

            return;
        }

        int answered = 0;
        bool[] seen = new bool[calls.Count];
        PipeReader lines = PipeReader.Create(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        while (true)
        {
            ReadResult read = await lines.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> pending = read.Buffer;
            while (pending.PositionOf((byte)'\n') is { } end)
            {
                ReadOnlySequence<byte> line = pending.Slice(0, end);
                pending = pending.Slice(pending.GetPosition(1, end));
                if (BatchAnswer.ReadLine(line.IsSingleSegment ? line.First : line.ToArray()) is not { } a || a.Index < 0 || a.Index >= calls.Count || seen[a.Index])
                {
                    throw new HttpRequestException($"{node} answered a batch with a line that is not an answer to one of its unanswered calls.");
                }

                seen[a.Index] = true;
                answer(a.Index, Answer(calls[a.Index], response, a.Status, a.ContentType, a.Body));
                answered++;
            }

            lines.AdvanceTo(pending.Start, pending.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        await lines.CompleteAsync().ConfigureAwait(false);
        if (answered < calls.Count)
        {
            // As a connection that broke under each unanswered call.
            throw new HttpRequestException($"{node} ended a batch of {calls.Count} calls after {answered} answers.");
        }
    }

    /// <summary>One call's response: its own status and body, with the headers the node put on the batch's.</summary>
    private static HttpResponseMessage Answer(Call call, HttpResponseMessage batch, int status, string? contentType, byte[] body)
    {
        var answer = new HttpResponseMessage((HttpStatusCode)status) { RequestMessage = call.Request, Version = batch.Version, Content = new ByteArrayContent(body) };
        foreach (KeyValuePair<string, IEnumerable<string>> header in batch.Headers)
        {
            answer.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        if (contentType is not null)
        {
            answer.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        return answer;
    }

    private sealed record Call(HttpRequestMessage Request, string Route, byte[] Body, Activity? Parent);
}
