using StemeDb.Cluster.Wire;
using StemeDb.Storage.Wire;
using System.Net.Http.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// The leader's side of a write: store it here, send it to the range's other replicas at once, and report
/// success when a write quorum — a majority of the range's replicas, dead ones included in the count —
/// has stored it. Slow or failed replicas do not hold up the answer once the quorum is reached, and they
/// never make a stored write look failed to the client: a "not stored" answer means fewer than a quorum
/// confirmed, and a retry is safe because writes are idempotent.
/// </summary>
public sealed class Replicator(ClusterNode node, RocksDbAssertionStore store, IHttpClientFactory http, NodeOptions options, ILogger<Replicator> logger)
{
    public sealed record Outcome(int Acknowledged, int Replicas, int Quorum)
    {
        public bool Reached => Acknowledged >= Quorum;
    }

    public static int QuorumOf(int replicas) => (replicas / 2) + 1;

    public async Task<Outcome> ReplicateAsync(RangeRoute route, ReplicateRequest request, Action storeLocally, CancellationToken cancellationToken)
    {
        RangeDescriptor range = route.Descriptor;
        int quorum = QuorumOf(range.Replicas.Length);
        storeLocally();
        int acknowledged = 1;
        List<Task<bool>> pending = [];
        foreach (NodeId replica in route.LiveReplicas)
        {
            if (replica != node.Id && node.AddressOf(replica) is { } address)
            {
                pending.Add(SendAsync(replica, address, request, cancellationToken));
            }
        }

        while (acknowledged < quorum && pending.Count > 0)
        {
            Task<bool> done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            if (await done.ConfigureAwait(false))
            {
                acknowledged++;
            }
        }

        // The rest keep going in the background: replicas that are merely slow still catch up.
        return new Outcome(acknowledged, range.Replicas.Length, quorum);
    }

    private async Task<bool> SendAsync(NodeId replica, Uri address, ReplicateRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ReplicaTimeout);
        try
        {
            using HttpResponseMessage response = await http.CreateClient("peers").PostAsJsonAsync(new Uri(address, "/internal/v1/replicate"), request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("Replica {Replica} refused a write: {Status}", replica, (int)response.StatusCode);
            }

            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            logger.LogWarning("Replica {Replica} did not store a write: {Error}", replica, e.Message);
            return false;
        }
    }

    /// <summary>Stores what a leader replicated here, if this node is a replica of every range involved.</summary>
    public IReadOnlyList<RangeDescriptor>? StoreReplicated(ReplicateRequest request)
    {
        List<Assertion> assertions = [.. (request.Assertions ?? []).Select(a => a.ToAssertion())];
        List<Retraction> retractions = [.. (request.Retractions ?? []).Select(ToRetraction)];
        foreach (string subject in assertions.Select(a => a.Subject).Concat(retractions.Select(r => r.Subject)))
        {
            RangeRoute route = node.Router.Route(subject);
            if (!route.Descriptor.Replicas.Contains(node.Id))
            {
                return node.Table.Current.DescriptorsOverlapping(route.Shard, route.Shard + 1);
            }
        }

        store.Write(assertions);
        foreach (Retraction r in retractions)
        {
            store.Retract(r);
        }

        return null;
    }

    public static Retraction ToRetraction(RetractionDto dto) =>
        AssertionId.TryParse(dto.Target, out AssertionId id)
            ? new Retraction(dto.Subject, id, Cluster.Time.HlcTimestamp.FromPacked(dto.RetractedAt))
            : throw new InvalidAssertionException([new ValidationError("target", "must be 64 hex digits.")]);
}
