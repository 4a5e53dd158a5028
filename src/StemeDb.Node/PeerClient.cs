using System.Globalization;
using System.Net;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node;

public enum PeerStatus
{
    Ok,

    /// <summary>421: the peer holds a newer descriptor for the range; <see cref="PeerResult{T}.Moved"/> has it.</summary>
    Moved,

    /// <summary>The peer answered with a refusal (4xx or 5xx).</summary>
    Refused,

    /// <summary>No answer: unknown address, connection failure, timeout.</summary>
    Unreachable,
}

/// <summary>What one call to a peer came to.</summary>
public sealed record PeerResult<T>(PeerStatus Status, T? Value, IReadOnlyList<RangeDescriptor> Moved, string? Error)
{
    public bool IsOk => Status == PeerStatus.Ok;

    public static PeerResult<T> Ok(T value) => new(PeerStatus.Ok, value, [], null);

    public static PeerResult<T> Fail(PeerStatus status, string error, IReadOnlyList<RangeDescriptor>? moved = null) => new(status, default, moved ?? [], error);
}

/// <summary>
/// The one typed client of the internal API between nodes (<c>/internal/v1</c>): every call a node makes to
/// a peer goes through here, with the peer's address from membership (its HTTP address, or its app-id
/// through the sidecar), a timeout per call, and the cluster and clock headers of
/// <see cref="PeerHeadersHandler"/>. Failures come back as values, never as exceptions, except this
/// node's own cancellation.
/// </summary>
public sealed class PeerClient(ClusterNode node, IHttpClientFactory http, NodeOptions options)
{
    public const string HttpClientName = "peers";

    /// <summary>Range data moves in pages this large (records).</summary>
    public const int PageSize = 500;

    /// <summary>The deadline of the longest internal call (a page of a range, the whole table): a sidecar's own timeout must be longer.</summary>
    public static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(30);

    public Task<PeerResult<bool>> ReplicateAsync(NodeId peer, ReplicateRequest request, CancellationToken cancellationToken) =>
        SendAsync(peer, HttpMethod.Post, InternalRoutes.Replicate, request, options.ReplicaTimeout, _ => Task.FromResult(true), cancellationToken);

    public Task<PeerResult<ReplicaReadAnswer>> ReadReplicaAsync(NodeId peer, ReplicaReadRequest request, CancellationToken cancellationToken) =>
        SendAsync(peer, HttpMethod.Post, InternalRoutes.ReplicaRead, request, options.ReplicaTimeout, Json<ReplicaReadAnswer>, cancellationToken);

    public Task<PeerResult<PrepareReplyDto>> PrepareAsync(NodeId peer, PrepareRequest request, CancellationToken cancellationToken) =>
        SendAsync(peer, HttpMethod.Post, InternalRoutes.Prepare, request, options.ReplicaTimeout, Json<PrepareReplyDto>, cancellationToken);

    public Task<PeerResult<AcceptReplyDto>> AcceptAsync(NodeId peer, AcceptRequest request, CancellationToken cancellationToken) =>
        SendAsync(peer, HttpMethod.Post, InternalRoutes.Accept, request, options.ReplicaTimeout, Json<AcceptReplyDto>, cancellationToken);

    public Task<PeerResult<MetaRangeDto>> GetMetaRangeAsync(NodeId peer, CancellationToken cancellationToken) =>
        SendAsync<object, MetaRangeDto>(peer, HttpMethod.Get, InternalRoutes.MetaRange, null, PageTimeout, Json<MetaRangeDto>, cancellationToken);

    public Task<PeerResult<bool>> PostMetaRangeAsync(NodeId peer, MetaRangeDto update, CancellationToken cancellationToken) =>
        SendAsync(peer, HttpMethod.Post, InternalRoutes.MetaRange, update, options.ReplicaTimeout, _ => Task.FromResult(true), cancellationToken);

    public Task<PeerResult<RecordPage>> ExportPageAsync(NodeId peer, int start, int end, string? after, CancellationToken cancellationToken) =>
        SendAsync<object, RecordPage>(
            peer,
            HttpMethod.Get,
            string.Create(CultureInfo.InvariantCulture, $"{InternalRoutes.RangeExport}?start={start}&end={end}&limit={PageSize}") + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}"),
            null,
            PageTimeout,
            Json<RecordPage>,
            cancellationToken);

    public Task<PeerResult<bool>> ImportAsync(NodeId peer, int start, int end, List<RecordDto> records, CancellationToken cancellationToken) =>
        SendAsync(peer, HttpMethod.Post, string.Create(CultureInfo.InvariantCulture, $"{InternalRoutes.RangeImport}?start={start}&end={end}"), records, PageTimeout, _ => Task.FromResult(true), cancellationToken);

    public Task<PeerResult<NodeLoadDto>> LoadAsync(NodeId peer, CancellationToken cancellationToken) =>
        SendAsync<object, NodeLoadDto>(peer, HttpMethod.Get, InternalRoutes.Load, null, options.ReplicaTimeout, Json<NodeLoadDto>, cancellationToken);

    public Task<PeerResult<List<ShardDigestDto>>> ShardDigestsAsync(NodeId peer, int start, int end, CancellationToken cancellationToken) =>
        SendAsync<object, List<ShardDigestDto>>(peer, HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"{InternalRoutes.RangeDigests}?start={start}&end={end}"), null, PageTimeout, Json<List<ShardDigestDto>>, cancellationToken);

    private async Task<PeerResult<TResult>> SendAsync<TBody, TResult>(
        NodeId peer,
        HttpMethod method,
        string path,
        TBody? body,
        TimeSpan timeout,
        Func<HttpResponseMessage, Task<TResult>> read,
        CancellationToken cancellationToken)
    {
        if (node.AddressOf(peer) is not { } address)
        {
            return PeerResult<TResult>.Fail(PeerStatus.Unreachable, $"{peer} is not a live member");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(address, path));
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, options: JsonSerializerOptions.Web);
            }

            using HttpResponseMessage response = await http.CreateClient(HttpClientName).SendAsync(request, deadline.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return PeerResult<TResult>.Ok(await read(response).ConfigureAwait(false));
            }

            string text = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.MisdirectedRequest)
            {
                return PeerResult<TResult>.Fail(PeerStatus.Moved, $"{peer} holds another descriptor", Problems.Descriptors(text));
            }

            return PeerResult<TResult>.Fail(PeerStatus.Refused, $"{peer} answered {(int)response.StatusCode}: {Problems.Detail(text)}");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or NotSupportedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return PeerResult<TResult>.Fail(PeerStatus.Unreachable, e is OperationCanceledException ? $"{peer} did not answer within {timeout}" : $"{peer}: {e.Message}");
        }
    }

    private static async Task<T> Json<T>(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<T>(JsonSerializerOptions.Web).ConfigureAwait(false)
        ?? throw new JsonException("The answer was empty.");
}
