using System.Text.Json;
using System.Threading.Channels;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway.Tests;

/// <summary>One server-sent event as a client parses it (the comment lines are counted apart).</summary>
internal sealed record SseEvent(ulong Id, string Type, MembershipEventDto Data);

/// <summary>A reader of <c>/v1/cluster/events</c> as a client would write it: lines, fields, blank line ends an event.</summary>
internal sealed class SseClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private int _disposed;

    private SseClient(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        _response = response;
        _reading = Task.Run(ReadAsync);
    }

    public int Comments { get; private set; }

    public List<SseEvent> Seen { get; } = [];

    public bool Ended => _reading.IsCompleted;

    public static async Task<SseClient> ConnectAsync(Uri gateway, ulong? lastEventId = null, string? rawLastEventId = null)
    {
        var http = new HttpClient { BaseAddress = gateway, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, EventStreamApi.Route);
        if ((rawLastEventId ?? lastEventId?.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } last)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", last);
        }

        HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        Assert.Equal(EventStreamApi.ContentType, response.Content.Headers.ContentType?.MediaType);
        return new SseClient(http, response);
    }

    /// <summary>Waits until an event matches, returning it; every event read meanwhile is in <see cref="Seen"/>.</summary>
    public async Task<SseEvent> NextAsync(Func<SseEvent, bool> match, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            while (true)
            {
                SseEvent e = await _events.Reader.ReadAsync(timeout.Token);
                Seen.Add(e);
                if (match(e))
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no matching event within {limit}; seen: {string.Join(", ", Seen.Select(s => $"{s.Id} {s.Data.Key}"))}");
        }
    }

    /// <summary>Every event that arrives within <paramref name="quiet"/> of the previous one.</summary>
    public async Task<List<SseEvent>> DrainAsync(TimeSpan quiet)
    {
        var got = new List<SseEvent>();
        while (true)
        {
            using var timeout = new CancellationTokenSource(quiet);
            try
            {
                SseEvent e = await _events.Reader.ReadAsync(timeout.Token);
                Seen.Add(e);
                got.Add(e);
            }
            catch (OperationCanceledException)
            {
                return got;
            }
            catch (ChannelClosedException)
            {
                return got;
            }
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
            ulong id = 0;
            string? type = null;
            string? data = null;
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data is not null)
                    {
                        await _events.Writer.WriteAsync(new SseEvent(id, type!, JsonSerializer.Deserialize<MembershipEventDto>(data, JsonSerializerOptions.Web)!));
                    }

                    (type, data) = (null, null);
                }
                else if (line.StartsWith(':'))
                {
                    Comments++;
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = ulong.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    type = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    Assert.Null(data); // one data line per event
                    data = line[6..];
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // stopped, or the connection closed
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // a test may close it early, then leave its scope
        }

        await _stop.CancelAsync();
        _response.Dispose();
        _http.Dispose();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
