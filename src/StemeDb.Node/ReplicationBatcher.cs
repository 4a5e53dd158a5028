using System.Runtime.InteropServices;
using StemeDb.Cluster.Membership;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Hosting;

namespace StemeDb.Node;

/// <summary>
/// Replicated writes bound for the same peer travel together: while <see cref="MaxInFlight"/> calls to a
/// peer are out, the writes that arrive wait and then go as one call (the replicate endpoint takes
/// records of several ranges, each with its descriptor), so concurrent writes share one HTTP exchange and,
/// on the replica, one group commit. One call's answer covers all it carried: an acknowledgement means
/// every record in it is durable there. A refusal of a combined call (one of its ranges moved or is
/// fenced) says nothing about the others, so each is then sent again alone and answered by its own
/// result; an acknowledgement is never inferred.
/// </summary>
public sealed class ReplicationBatcher
{
    /// <summary>Calls to one peer at a time; more writes wait and are combined.</summary>
    public const int MaxInFlight = 2;

    /// <summary>Records in one combined call (what a node takes in one request).</summary>
    public const int MaxRecords = RequestLimits.MaxBatch;

    /// <summary>Estimated bytes of one combined call, well below what a node reads (<see cref="RequestLimits.MaxNodeBodyBytes"/>).</summary>
    public const long MaxBytes = 1L << 20;

    private readonly PeerClient _peers;
    private readonly Coalescer<NodeId, ReplicateRequest, PeerResult<bool>> _calls;
    private long _handed;
    private long _resent;

    public ReplicationBatcher(PeerClient peers)
    {
        _peers = peers;
        // Records are what a call counts: none carries more than a node takes in one request.
        _calls = new Coalescer<NodeId, ReplicateRequest, PeerResult<bool>>(MaxInFlight, MaxRecords, MaxBytes, SendAsync);
    }

    /// <summary>Replicate requests handed in (one per write per peer).</summary>
    public long Handed => Interlocked.Read(ref _handed);

    /// <summary>Calls that carried more than one request.</summary>
    public long Combined => _calls.Combined;

    /// <summary>Requests sent again alone after the combined call that carried them was refused.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    public Task<PeerResult<bool>> ReplicateAsync(NodeId peer, ReplicateRequest request, CancellationToken cancellationToken)
    {
        long bytes = EstimateBytes(request);
        Interlocked.Increment(ref _handed); // counted once handed in, so a count seen means the write is there to take
        if (bytes > MaxBytes / 2 || Count(request) > MaxRecords / 2)
        {
            return _peers.ReplicateAsync(peer, request, cancellationToken); // big enough alone
        }

        // The call itself is not cancelled with one caller: the others in it still want their writes.
        return _calls.SendAsync(peer, request, Count(request), bytes, CancellationToken.None).WaitAsync(cancellationToken);
    }

    private static int Count(ReplicateRequest request) => (request.Assertions?.Count ?? 0) + (request.Retractions?.Count ?? 0);

    // The object's JSON is measured in place (no copy): this runs for every replicated write.
    private static long EstimateBytes(ReplicateRequest request)
    {
        long bytes = 256L * (request.Descriptors?.Count ?? 0);
        foreach (AssertionDto a in request.Assertions ?? [])
        {
            bytes += 200 + a.Subject.Length + a.Predicate.Length + (a.Source?.Length ?? 0) + JsonMarshal.GetRawUtf8Value(a.Object).Length;
        }

        foreach (RetractionDto r in request.Retractions ?? [])
        {
            bytes += 150 + r.Subject.Length;
        }

        return bytes;
    }

    private async Task SendAsync(NodeId peer, IReadOnlyList<ReplicateRequest> batch, Action<int, PeerResult<bool>> answer, CancellationToken cancellationToken)
    {
        if (batch.Count == 1)
        {
            answer(0, await _peers.ReplicateAsync(peer, batch[0], CancellationToken.None).ConfigureAwait(false));
            return;
        }

        var combined = new ReplicateRequest(
            [.. batch.SelectMany(r => r.Assertions ?? [])],
            [.. batch.SelectMany(r => r.Retractions ?? [])],
            [.. batch.SelectMany(r => r.Descriptors ?? []).Distinct()]);
        PeerResult<bool> result = await _peers.ReplicateAsync(peer, combined, CancellationToken.None).ConfigureAwait(false);
        if (result.IsOk || result.Status == PeerStatus.Unreachable)
        {
            // All stored, or none could have been answered: the same for every write in the call.
            for (int i = 0; i < batch.Count; i++)
            {
                answer(i, result);
            }

            return;
        }

        // Refused as a whole because of some of its ranges: each write alone gets its own answer.
        Interlocked.Add(ref _resent, batch.Count);
        await Task.WhenAll(batch.Select(async (r, i) => answer(i, await _peers.ReplicateAsync(peer, r, CancellationToken.None).ConfigureAwait(false)))).ConfigureAwait(false);
    }
}
