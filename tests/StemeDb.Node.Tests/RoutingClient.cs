using StemeDb.Contracts.Wire;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;

namespace StemeDb.Node.Tests;

/// <summary>
/// What a gateway does, reduced to what the tests need: route each subject to its range's leader, follow
/// 421 answers, route around nodes that fail, retry (writes are idempotent). Bounded in attempts.
/// </summary>
internal sealed class RoutingClient : IDisposable
{
    private readonly NodeCluster _cluster;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly RangeRouter _router;

    public RoutingClient(NodeCluster cluster, int nodes)
    {
        _cluster = cluster;
        NodeId[] genesis = [.. Enumerable.Range(1, nodes).Select(i => new NodeId($"stemedb-node-{i}"))];
        _router = new RangeRouter(new MetaRange(NodeCluster.Shards, MetaRange.GenesisDescriptor(NodeCluster.Shards, genesis.Take(3), genesis[0])));
    }

    public HttpClient Http => _http;

    public Uri UrlOf(NodeId node) => _cluster.Urls[int.Parse(node.Value["stemedb-node-".Length..], System.Globalization.CultureInfo.InvariantCulture) - 1];

    /// <summary>Writes one assertion; returns its id once a write quorum stored it, or null when every attempt failed.</summary>
    public async Task<string?> WriteAsync(string subject, string predicate, string json)
    {
        var body = new WriteRequest([new AssertionInput(subject, predicate, JsonDocument.Parse(json).RootElement, null, null)]);
        for (int attempt = 0; attempt < 100; attempt++)
        {
            RangeRoute route = _router.Route(subject);
            if (!route.HasLiveReplica)
            {
                return null;
            }

            NodeId leader = route.Leader;
            try
            {
                using HttpResponseMessage response = await _http.PostAsJsonAsync(new Uri(UrlOf(leader), InternalRoutes.Write), body);
                if (response.IsSuccessStatusCode)
                {
                    return (await response.Content.ReadFromJsonAsync<WriteResponse>())!.Ids.Single();
                }

                if (response.StatusCode == HttpStatusCode.MisdirectedRequest)
                {
                    await RefreshAsync(response);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                _router.MarkDead(leader);
            }

            await Task.Delay(100);
        }

        return null;
    }

    /// <summary>A majority read coordinated by <paramref name="via"/> (quorum), or that node's own copy.</summary>
    public async Task<List<AssertionDto>> ReadAsync(NodeId via, string subject, bool quorum, bool history = false)
    {
        using HttpResponseMessage response = await _http.PostAsJsonAsync(new Uri(UrlOf(via), quorum ? InternalRoutes.Query : InternalRoutes.LocalRead), new QueryRequest(subject, null, history));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<List<AssertionDto>>())!;
    }

    /// <summary>A majority read coordinated by <paramref name="via"/>, as it answers (200, 503, 421).</summary>
    public Task<HttpResponseMessage> QueryAsync(NodeId via, string subject, bool history = false) =>
        _http.PostAsJsonAsync(new Uri(UrlOf(via), InternalRoutes.Query), new QueryRequest(subject, null, history));

    public Task<HttpResponseMessage> RetractAsync(NodeId via, string subject, string id) =>
        _http.PostAsJsonAsync(new Uri(UrlOf(via), InternalRoutes.Retract), new RetractRequest(subject, id));

    /// <summary>A peer's replicate call (this cluster's id, no clock) routed at <paramref name="range"/>.</summary>
    public Task<HttpResponseMessage> ReplicateAsync(NodeId to, List<AssertionDto> assertions, RangeDescriptor range, List<RetractionDto>? retractions = null) =>
        _http.SendAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(UrlOf(to), InternalRoutes.Replicate))
        {
            Content = JsonContent.Create(new ReplicateRequest(assertions, retractions ?? [], [RangeDescriptorDto.From(range)])),
            Headers = { { InternalHeaderNames.Cluster, _cluster.Node(0).ClusterId.ToString() } },
        });

    public void Dispose() => _http.Dispose();

    private async Task RefreshAsync(HttpResponseMessage response)
    {
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        List<RangeDescriptorDto> descriptors = problem.RootElement.GetProperty(Misdirected.DescriptorsField).Deserialize<List<RangeDescriptorDto>>(JsonSerializerOptions.Web)!;
        _router.Apply(descriptors.Select(d => d.ToDescriptor()));
    }
}
