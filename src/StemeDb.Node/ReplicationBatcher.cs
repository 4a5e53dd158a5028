using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using StemeDb.Cluster.Membership;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

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
public sealed class ReplicationBatcher(PeerClient peers)
{
    /// <summary>Calls to one peer at a time; more writes wait and are combined.</summary>
    public const int MaxInFlight = 2;

    /// <summary>Records in one combined call (what a node takes in one request).</summary>
    public const int MaxRecords = RequestLimits.MaxBatch;

    /// <summary>Estimated bytes of one combined call, well below what a node reads (<see cref="RequestLimits.MaxNodeBodyBytes"/>).</summary>
    public const long MaxBytes = 1L << 20;

    private readonly ConcurrentDictionary<NodeId, PeerQueue> _queues = new();
    private long _handed;
    private long _combined;
    private long _resent;

    /// <summary>Replicate requests handed in (one per write per peer).</summary>
    public long Handed => Interlocked.Read(ref _handed);

    /// <summary>Calls that carried more than one request.</summary>
    public long Combined => Interlocked.Read(ref _combined);

    /// <summary>Requests sent again alone after the combined call that carried them was refused.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    public Task<PeerResult<bool>> ReplicateAsync(NodeId peer, ReplicateRequest request, CancellationToken cancellationToken)
    {
        long bytes = EstimateBytes(request);
        if (bytes > MaxBytes / 2 || Count(request) > MaxRecords / 2)
        {
            Interlocked.Increment(ref _handed);
            return peers.ReplicateAsync(peer, request, cancellationToken); // big enough alone
        }

        var pending = new Pending(request, bytes);
        PeerQueue queue = _queues.GetOrAdd(peer, p => new PeerQueue(p));
        queue.Waiting.Enqueue(pending);
        Interlocked.Increment(ref _handed); // counted once queued, so a count seen means the write is there to take
        Drain(queue);
        return pending.Done.Task.WaitAsync(cancellationToken);
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

    // Whoever enqueues and whoever finishes a call both drain, so a waiting write is never left behind:
    // either the finisher sees it queued, or the enqueuer sees the slot the finisher gave back.
    private void Drain(PeerQueue queue)
    {
        while (!queue.Waiting.IsEmpty && queue.Slots.Wait(0))
        {
            // One taker at a time: two calls finishing together would otherwise split what waited between them.
            List<Pending> batch;
            lock (queue)
            {
                batch = Take(queue);
            }

            if (batch.Count == 0)
            {
                queue.Slots.Release();
                continue;
            }

            _ = SendAsync(queue, batch);
        }
    }

    private static List<Pending> Take(PeerQueue queue)
    {
        var batch = new List<Pending>();
        int records = 0;
        long bytes = 0;
        while (queue.Waiting.TryPeek(out Pending? next)
               && (batch.Count == 0 || (records + Count(next.Request) <= MaxRecords && bytes + next.Bytes <= MaxBytes))
               && queue.Waiting.TryDequeue(out next))
        {
            batch.Add(next);
            records += Count(next.Request);
            bytes += next.Bytes;
        }

        return batch;
    }

    private async Task SendAsync(PeerQueue queue, List<Pending> batch)
    {
        try
        {
            if (batch.Count == 1)
            {
                batch[0].Done.TrySetResult(await peers.ReplicateAsync(queue.Peer, batch[0].Request, CancellationToken.None).ConfigureAwait(false));
                return;
            }

            Interlocked.Increment(ref _combined);
            var combined = new ReplicateRequest(
                [.. batch.SelectMany(p => p.Request.Assertions ?? [])],
                [.. batch.SelectMany(p => p.Request.Retractions ?? [])],
                [.. batch.SelectMany(p => p.Request.Descriptors ?? []).Distinct()]);
            PeerResult<bool> result = await peers.ReplicateAsync(queue.Peer, combined, CancellationToken.None).ConfigureAwait(false);
            if (result.IsOk || result.Status == PeerStatus.Unreachable)
            {
                // All stored, or none could have been answered: the same for every write in the call.
                batch.ForEach(p => p.Done.TrySetResult(result));
                return;
            }

            // Refused as a whole because of some of its ranges: each write alone gets its own answer.
            Interlocked.Add(ref _resent, batch.Count);
            await Task.WhenAll(batch.Select(async p => p.Done.TrySetResult(await peers.ReplicateAsync(queue.Peer, p.Request, CancellationToken.None).ConfigureAwait(false)))).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            batch.ForEach(p => p.Done.TrySetException(e));
        }
        finally
        {
            queue.Slots.Release();
            Drain(queue);
        }
    }

    private sealed record Pending(ReplicateRequest Request, long Bytes)
    {
        public TaskCompletionSource<PeerResult<bool>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PeerQueue(NodeId peer)
    {
        public NodeId Peer { get; } = peer;

        public ConcurrentQueue<Pending> Waiting { get; } = new();

        public SemaphoreSlim Slots { get; } = new(MaxInFlight, MaxInFlight);
    }
}
