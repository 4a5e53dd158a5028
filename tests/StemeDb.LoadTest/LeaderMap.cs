using System.Net.Http.Json;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;

namespace StemeDb.LoadTest;

/// <summary>
/// Where each subject's range leader listens, computed as the gateway computes it (the core's router over
/// a node's meta-range and member list), so that "direct to the node" requests skip only the gateway.
/// </summary>
public sealed class LeaderMap
{
    private readonly RangeRouter _router;
    private readonly Dictionary<string, Uri> _addresses;

    private LeaderMap(RangeRouter router, Dictionary<string, Uri> addresses)
    {
        _router = router;
        _addresses = addresses;
    }

    public static async Task<LeaderMap> LoadAsync(HttpClient http, Uri node, CancellationToken cancellationToken)
    {
        MetaRangeDto table = (await http.GetFromJsonAsync<MetaRangeDto>(new Uri(node, InternalRoutes.MetaRange), cancellationToken))!;
        List<MemberDto> members = (await http.GetFromJsonAsync<List<MemberDto>>(new Uri(node, InternalRoutes.Members), cancellationToken))!;
        var router = new RangeRouter(MetaRange.Unknown(table.ShardCount));
        router.Apply(table.Descriptors.Select(d => d.ToDescriptor()));
        return new LeaderMap(router, members.ToDictionary(m => m.Id, m => new Uri(m.HttpAddress)));
    }

    public Uri LeaderOf(string subject) => _addresses[_router.Route(subject).Leader.Value];
}
