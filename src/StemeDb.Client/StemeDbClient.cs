using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Client;

/// <summary>
/// The typed client of a StemeDb gateway's public API (<c>/v1</c>). Register it with
/// <see cref="StemeDbServiceCollectionExtensions.AddStemeDbClient"/>. Every call here is idempotent and is
/// retried on transient failures by the standard resilience handler: reads, member and range views, writes
/// (an assertion's id is the hash of its content, so a write sent twice stores it once) and retractions (a
/// tombstone naming an id: the same one twice is one). The membership event stream is not: it runs on its
/// own client without a total timeout and resumes by itself (<see cref="WatchMembershipAsync"/>).
/// A refusal or failure is a <see cref="StemeDbProblemException"/> (its subclass names the case); a network
/// failure is an <see cref="HttpRequestException"/>.
/// </summary>
public sealed partial class StemeDbClient
{
    /// <summary>The name of the HttpClient the event stream uses (no resilience handler, no timeout).</summary>
    public const string EventsClientName = "StemeDb.Client.Events";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly HttpClient _http;
    private readonly HttpClient _events;
    private readonly StemeDbClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>The constructor dependency injection uses: <paramref name="http"/> is the typed client with the resilience handler.</summary>
    [ActivatorUtilitiesConstructor]
    public StemeDbClient(HttpClient http, IHttpClientFactory factory, IOptions<StemeDbClientOptions> options, TimeProvider time, ILogger<StemeDbClient> logger)
        : this(http, (factory ?? throw new ArgumentNullException(nameof(factory))).CreateClient(EventsClientName), (options ?? throw new ArgumentNullException(nameof(options))).Value, time, logger)
    {
    }

    /// <summary>
    /// A client on HttpClients you made: <paramref name="http"/> for calls, <paramref name="events"/> for the event
    /// stream (give it no timeout: <c>Timeout = Timeout.InfiniteTimeSpan</c>). Both need the gateway as base address.
    /// </summary>
    public StemeDbClient(HttpClient http, HttpClient events, StemeDbClientOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _events = events;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Writes one assertion; answers once a write quorum stored it.</summary>
    public Task<WriteResult> WriteAsync(NewAssertion assertion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        return PostWriteAsync(Input(assertion), cancellationToken);
    }

    /// <summary>
    /// Writes a batch (at most <see cref="RequestLimits.MaxBatch"/> assertions, and within the gateway's body
    /// limit); answers with the ids in the order sent once a write quorum stored every one. Refused whole if one is invalid.
    /// </summary>
    public Task<WriteResult> WriteBatchAsync(IReadOnlyCollection<NewAssertion> assertions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(assertions);
        return PostWriteAsync(new WriteRequest([.. assertions.Select(Input)]), cancellationToken);
    }

    /// <summary>
    /// The current assertions of <paramref name="subject"/> (any valid subject: it travels as a query value),
    /// optionally of one predicate; with <paramref name="history"/>, retracted ones too. A majority of the
    /// subject's replicas answered, so it holds every write acknowledged before the call.
    /// </summary>
    public async Task<IReadOnlyList<AssertionView>> ReadAsync(string subject, string? predicate = null, bool history = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        string query = "v1/assertions?subject=" + Uri.EscapeDataString(subject)
            + (predicate is null ? "" : "&predicate=" + Uri.EscapeDataString(predicate))
            + (history ? "&history=true" : "");
        return await SendAsync<List<AssertionView>>(() => new HttpRequestMessage(HttpMethod.Get, new Uri(query, UriKind.Relative)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Retracts the assertion <paramref name="id"/> of <paramref name="subject"/>; <see cref="StemeDbNotFoundException"/> if the subject has no such assertion.</summary>
    public async Task RetractAsync(string subject, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(id);
        // Checked here because the id is a path segment: "..", "/" or "?" would name another resource.
        if (!AssertionId.TryParse(id, out _))
        {
            throw new StemeDbInvalidInputException(400, "Invalid id", "id must be 64 hex digits (an assertion id as the write returned it).", errors: [new ValidationError("id", "must be 64 hex digits.")]);
        }

        string path = $"v1/assertions/{id}?subject={Uri.EscapeDataString(subject)}";
        _ = await SendAsync<JsonElement>(() => new HttpRequestMessage(HttpMethod.Delete, new Uri(path, UriKind.Relative)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The members as the gateway last heard of them (SWIM state, incarnation, addresses).</summary>
    public async Task<IReadOnlyList<MemberDto>> GetMembersAsync(CancellationToken cancellationToken = default) =>
        await SendAsync<List<MemberDto>>(() => new HttpRequestMessage(HttpMethod.Get, new Uri("v1/cluster/members", UriKind.Relative)), cancellationToken).ConfigureAwait(false);

    /// <summary>The ranges: shard span, generation, replicas, leader and size.</summary>
    public async Task<IReadOnlyList<RangeInfo>> GetRangesAsync(CancellationToken cancellationToken = default) =>
        await SendAsync<List<RangeInfo>>(() => new HttpRequestMessage(HttpMethod.Get, new Uri("v1/cluster/ranges", UriKind.Relative)), cancellationToken).ConfigureAwait(false);

    /// <summary>Whether the gateway is ready (<c>/readyz</c>: it has a routing table and a live node). Not retried: the answer is the point.</summary>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("readyz", UriKind.Relative));
        using HttpResponseMessage response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.ServiceUnavailable => false,
            _ => throw await Problems.FromResponseAsync(response, cancellationToken).ConfigureAwait(false),
        };
    }

    private static AssertionInput Input(NewAssertion a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return new AssertionInput(a.Subject, a.Predicate, a.Object, a.Source, a.Confidence);
    }

    private async Task<WriteResult> PostWriteAsync(object body, CancellationToken cancellationToken)
    {
        WriteResponse written = await SendAsync<WriteResponse>(
            () => new HttpRequestMessage(HttpMethod.Post, new Uri("v1/assertions", UriKind.Relative)) { Content = JsonContent.Create(body, body.GetType(), options: Json) },
            cancellationToken).ConfigureAwait(false);
        return new WriteResult(written.Ids, written.Stored);
    }

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        using HttpRequestMessage request = create();
        using HttpResponseMessage response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await Problems.FromResponseAsync(response, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
                ?? throw new StemeDbProblemException((int)response.StatusCode, "Empty answer", "The gateway answered without a body.");
        }
        catch (JsonException e)
        {
            throw new StemeDbProblemException((int)response.StatusCode, "Broken answer", $"The gateway's answer is not what {request.Method} {request.RequestUri} returns: {e.Message}", innerException: e);
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new StemeDbTimeoutException("Timeout", $"No answer from the gateway within {e.Timeout}.", innerException: e);
        }
        catch (BrokenCircuitException e)
        {
            throw new StemeDbUnavailableException("Unavailable", $"Calls to the gateway failed too often; not sending for a while ({e.Message})");
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StemeDbTimeoutException("Timeout", $"No answer from the gateway within {_http.Timeout}.", innerException: e);
        }
    }
}
