using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StemeDb.Contracts.Wire;

namespace StemeDb.Client;

// The membership event stream: GET /v1/cluster/events as server-sent events, resumed after a disconnect.
public sealed partial class StemeDbClient
{
    private const int RememberedKeys = 10_000;

    /// <summary>
    /// The membership events as they happen: first the gateway's current view (one event per member), then
    /// every change, until <paramref name="cancellationToken"/> is cancelled (then the enumeration ends with an
    /// <see cref="OperationCanceledException"/>). After a disconnect it reconnects with <c>Last-Event-ID</c>, so
    /// nothing is lost or repeated, waiting <see cref="StemeDbClientOptions.WatchInitialBackoff"/> doubled per
    /// failed attempt up to <see cref="StemeDbClientOptions.WatchMaxBackoff"/>. Events with a key already seen
    /// are dropped. Apply them to a member view with <see cref="MemberDto.Supersedes"/>, never by arrival.
    /// A refusal that retrying cannot mend (4xx: a wrong API key, a gateway without the stream) ends it with a
    /// <see cref="StemeDbProblemException"/>.
    /// </summary>
    /// <param name="lastEventId">Resume after this event id (from an earlier watch); null starts with the current view.</param>
    public async IAsyncEnumerable<MembershipEventDto> WatchMembershipAsync(string? lastEventId = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new RecentKeys(RememberedKeys);
        TimeSpan backoff = _options.WatchInitialBackoff;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (HttpResponseMessage? response, Exception? failure) = await ConnectAsync(lastEventId, cancellationToken).ConfigureAwait(false);
            if (response is not null)
            {
                using (response)
                {
                    Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                    await using (body.ConfigureAwait(false))
                    {
                        var reader = new ServerSentEventReader(body);
                        while (true)
                        {
                            ServerSentEvent? e;
                            try
                            {
                                e = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                            }
                            catch (Exception x) when (x is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                            {
                                failure = x;
                                break;
                            }

                            if (e is null)
                            {
                                break; // the server ended the stream (a restart, a slow reader cut off): resume
                            }

                            if (e.Retry is { } suggested)
                            {
                                backoff = Clamp(suggested);
                            }

                            lastEventId = e.Id ?? lastEventId;
                            if (!e.Type.StartsWith(MembershipEventTypes.Prefix, StringComparison.Ordinal) || Parse(e.Data) is not { } change)
                            {
                                continue; // another kind of event, or one this version cannot read
                            }

                            // A stream that delivered something is healthy: the next disconnect starts the backoff afresh.
                            backoff = _options.WatchInitialBackoff;
                            if (seen.Add(change.Key))
                            {
                                yield return change;
                            }
                        }
                    }
                }
            }

            Log.Reconnecting(_logger, backoff, lastEventId, failure?.Message ?? "the stream ended");
            await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
            backoff = Clamp(backoff * 2);
        }
    }

    /// <summary>The stream's answer, or the failure to retry after; throws what retrying cannot mend.</summary>
    private async Task<(HttpResponseMessage? Response, Exception? Failure)> ConnectAsync(string? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("v1/cluster/events", UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        HttpResponseMessage response;
        try
        {
            response = await _events.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return (null, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return (response, null);
        }

        using (response)
        {
            StemeDbProblemException problem = await Problems.FromResponseAsync(response, cancellationToken).ConfigureAwait(false);
            bool transient = response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500;
            if (!transient)
            {
                throw problem;
            }

            return (null, problem);
        }
    }

    private TimeSpan Clamp(TimeSpan delay) =>
        delay < _options.WatchInitialBackoff ? _options.WatchInitialBackoff : delay > _options.WatchMaxBackoff ? _options.WatchMaxBackoff : delay;

    private MembershipEventDto? Parse(string data)
    {
        try
        {
            return JsonSerializer.Deserialize<MembershipEventDto>(data, Json);
        }
        catch (JsonException e)
        {
            Log.Unreadable(_logger, e.Message);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Membership event stream: reconnecting in {Delay} after event {LastEventId} ({Reason})")]
        public static partial void Reconnecting(ILogger logger, TimeSpan delay, string? lastEventId, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Membership event stream: an event this client cannot read was skipped ({Reason})")]
        public static partial void Unreadable(ILogger logger, string reason);
    }
}
