using StemeDb.Cluster.Consensus;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;
using StemeDb.Storage;

namespace StemeDb.Node;

public enum QuorumStatus
{
    Ok,

    /// <summary>This node, or a replica, holds a newer descriptor for the range: refresh and retry.</summary>
    Moved,

    /// <summary>This node promised a change of the range: nothing is served at this generation here.</summary>
    Fenced,

    /// <summary>Fewer than a majority of the listed replicas answered.</summary>
    NoQuorum,

    /// <summary>This node's store refused the write.</summary>
    StoreFailed,
}

/// <summary>What a quorum operation came to: its status, how many of how many replicas, and what to tell the caller.</summary>
public sealed record QuorumOutcome(QuorumStatus Status, int Answered, int Replicas, IReadOnlyList<RangeDescriptor> Current, string? Detail = null)
{
    /// <summary>Of a write: the records that were new in this node's store.</summary>
    public int Added { get; init; }

    public int Quorum => Coordinator.QuorumOf(Replicas);
}

/// <summary>
/// Any replica of a range coordinates its reads and writes (the leader is a preference for load, not a
/// need of safety: writes are unions and both quorums are counted against the descriptor's listed
/// replicas, never a membership view). A write is acknowledged once a majority of the listed replicas
/// stored it at the generation it was routed at, this node included; a read is answered only from a
/// majority of them, this node included, and is the union of their answers. A replica that promised a
/// change of the range (<see cref="FenceGate"/>) or knows a newer descriptor refuses, so an old majority
/// cannot go on after a new one was decided.
/// </summary>
public sealed class Coordinator(ClusterNode node, MetaRangeSync sync, RocksDbAssertionStore store, FenceGate gate, PeerClient peers, ReplicationBatcher replication, HedgeDelay hedge, StoreHealth health, LoadTracker load, NodeTelemetry telemetry)
{
    public static int QuorumOf(int replicas) => (replicas / 2) + 1;

    /// <summary>Stores records of one range here and on a majority of the range's replicas at <paramref name="range"/>'s generation.</summary>
    public async Task<QuorumOutcome> ReplicateAsync(RangeDescriptor range, IReadOnlyList<Assertion> assertions, IReadOnlyList<Retraction> retractions, CancellationToken cancellationToken)
    {
        using System.Diagnostics.Activity? span = telemetry.Source.StartActivity("quorum write");
        span?.SetTag("stemedb.range", range.Id.ToString());
        span?.SetTag("stemedb.records", assertions.Count + retractions.Count);
        long started = node.Time.GetTimestamp();
        QuorumOutcome outcome = await WriteQuorumAsync(range, assertions, retractions, cancellationToken).ConfigureAwait(false);
        telemetry.Wrote(outcome.Status, node.Time.GetElapsedTime(started));
        span?.SetTag("stemedb.outcome", outcome.Status.ToString());
        return outcome;
    }

    /// <summary>A majority read of a subject: the union of the answers of a majority of the range's replicas.</summary>
    public async Task<(QuorumOutcome Outcome, List<AssertionDto> Records)> ReadAsync(RangeDescriptor range, string subject, string? predicate, CancellationToken cancellationToken)
    {
        using System.Diagnostics.Activity? span = telemetry.Source.StartActivity("quorum read");
        span?.SetTag("stemedb.range", range.Id.ToString());
        long started = node.Time.GetTimestamp();
        (QuorumOutcome Outcome, List<AssertionDto> Records) read = await ReadQuorumAsync(range, subject, predicate, cancellationToken).ConfigureAwait(false);
        telemetry.Read(read.Outcome.Status, node.Time.GetElapsedTime(started));
        span?.SetTag("stemedb.outcome", read.Outcome.Status.ToString());
        return read;
    }

    private async Task<QuorumOutcome> WriteQuorumAsync(RangeDescriptor range, IReadOnlyList<Assertion> assertions, IReadOnlyList<Retraction> retractions, CancellationToken cancellationToken)
    {
        foreach (Assertion a in assertions)
        {
            load.Record(store.ShardOf(a.Subject));
        }

        foreach (Retraction r in retractions)
        {
            load.Record(store.ShardOf(r.Subject));
        }

        (QuorumOutcome? refused, int added) = await StoreLocallyAsync(range, assertions, retractions).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        var request = new ReplicateRequest([.. assertions.Select(a => AssertionDto.From(a))], [.. retractions.Select(RetractionDto.From)], [RangeDescriptorDto.From(range)]);
        int acknowledged = 1;
        int quorum = QuorumOf(range.Replicas.Length);
        List<Task<PeerResult<bool>>> pending = [.. range.Replicas.Where(r => r != node.Id).Select(r => replication.ReplicateAsync(r, request, cancellationToken))];
        var moved = new List<RangeDescriptor>();
        var failures = new List<string>();
        while (acknowledged < quorum && pending.Count > 0)
        {
            Task<PeerResult<bool>> done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            PeerResult<bool> result = await done.ConfigureAwait(false);
            if (result.IsOk)
            {
                acknowledged++;
            }
            else
            {
                moved.AddRange(result.Moved);
                failures.Add(result.Error ?? result.Status.ToString());
            }
        }

        // The rest go on alone: a replica that is merely slow still gets the write.
        return Conclude(range, acknowledged, moved, failures) with { Added = added };
    }

    private async Task<(QuorumOutcome Outcome, List<AssertionDto> Records)> ReadQuorumAsync(RangeDescriptor range, string subject, string? predicate, CancellationToken cancellationToken)
    {
        load.Record(store.ShardOf(subject));
        SlotId slot = SlotId.Of(range);
        if (!range.Replicas.Contains(node.Id))
        {
            return (new QuorumOutcome(QuorumStatus.Moved, 0, range.Replicas.Length, node.Table.Current.DescriptorsOverlapping(range.StartShard, range.EndShard)), []);
        }

        if (gate.IsFenced(slot))
        {
            return (new QuorumOutcome(QuorumStatus.Fenced, 0, range.Replicas.Length, [range], "a change of this range is being decided; retry shortly"), []);
        }

        // The union of the answers: assertions with their earliest time, tombstones with theirs, and each
        // tombstone applied wherever it came from (it may sit on replicas that missed the assertion).
        var merged = new Dictionary<string, AssertionDto>(StringComparer.Ordinal);
        var tombstones = new Dictionary<string, ulong>(StringComparer.Ordinal);
        Merge(merged, tombstones, Answer(store.ReadRecords(subject, predicate)));
        int answered = 1;
        int quorum = QuorumOf(range.Replicas.Length);
        var request = new ReplicaReadRequest(RangeDescriptorDto.From(range), subject, predicate);

        // Only as many other replicas as a majority needs are asked (in random order, so the load spreads);
        // the next one when one fails, or when none has answered within the hedge delay. A slow or cut-off
        // replica costs a read at most that delay; a healthy cluster answers a read with one replica call
        // less than asking them all (README, Performance).
        NodeId[] others = [.. range.Replicas.Where(r => r != node.Id)];
        Random.Shared.Shuffle(others);
        int asked = 0;
        var pending = new List<Task<PeerResult<ReplicaReadAnswer>>>(others.Length);
        // Asks still out once a majority answered are called off: a slow replica's call would hold one of the
        // few calls to it that may be out at once (CoalescingHandler) until the replica timeout, for nothing.
        using var asks = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void AskNext(string reason)
        {
            telemetry.AskedReplica(reason);
            pending.Add(AskReplicaAsync(others[asked++], request, asks.Token));
        }

        for (int first = hedge.AskAll ? others.Length : Math.Min(quorum - 1, others.Length); asked < first;)
        {
            AskNext("needed");
        }

        var moved = new List<RangeDescriptor>();
        var failures = new List<string>();
        using var hedged = new CancellationTokenSource();
        Task? hedgeTimer = null;
        try
        {
            while (answered < quorum && pending.Count > 0)
            {
                bool more = asked < others.Length;
                if (more && hedgeTimer is null)
                {
                    hedgeTimer = Task.Delay(hedge.Current, node.Time, hedged.Token);
                }

                Task first = more ? await Task.WhenAny([.. pending, hedgeTimer!]).ConfigureAwait(false) : await Task.WhenAny(pending).ConfigureAwait(false);
                if (first == hedgeTimer)
                {
                    hedgeTimer = null; // the next replica is asked; a new delay runs for the one after it
                    AskNext("hedge");
                    continue;
                }

                var done = (Task<PeerResult<ReplicaReadAnswer>>)first;
                pending.Remove(done);
                PeerResult<ReplicaReadAnswer> result = await done.ConfigureAwait(false);
                if (!result.IsOk)
                {
                    moved.AddRange(result.Moved);
                    failures.Add(result.Error ?? result.Status.ToString());
                    if (asked < others.Length && answered + pending.Count < quorum)
                    {
                        AskNext("failover"); // no need to wait for the hedge: this one will not answer
                    }

                    continue;
                }

                answered++;
                Merge(merged, tombstones, result.Value!);
            }
        }
        finally
        {
            hedged.Cancel(); // the timer, if one still runs
            if (pending.Count > 0)
            {
                asks.Cancel();
            }
        }

        foreach ((string id, ulong at) in tombstones)
        {
            if (merged.TryGetValue(id, out AssertionDto? a) && (a.RetractedAt is null || a.RetractedAt > at))
            {
                merged[id] = a with { RetractedAt = at };
            }
        }

        // Answered after the read quorum, so the set of answers is fixed: a majority, or a refusal.
        return (Conclude(range, answered, moved, failures), [.. merged.Values]);
    }

    /// <summary>One replica's part of a majority read, timed for the hedge delay when it answered.</summary>
    private async Task<PeerResult<ReplicaReadAnswer>> AskReplicaAsync(NodeId replica, ReplicaReadRequest request, CancellationToken cancellationToken)
    {
        long started = node.Time.GetTimestamp();
        PeerResult<ReplicaReadAnswer> result = await peers.ReadReplicaAsync(replica, request, cancellationToken).ConfigureAwait(false);
        if (result.IsOk)
        {
            hedge.Observe(node.Time.GetElapsedTime(started));
        }

        return result;
    }

    /// <summary>
    /// What this node holds of a subject at <paramref name="range"/>'s generation, for a peer coordinating a
    /// read; null (and the descriptors to send back) when it does not serve the range at that generation.
    /// </summary>
    public (ReplicaReadAnswer? Records, IReadOnlyList<RangeDescriptor> Current) ReadAsReplica(RangeDescriptor range, string subject, string? predicate)
    {
        int shard = store.ShardOf(subject);
        if (!Serves(range, shard) || gate.IsFenced(SlotId.Of(range)))
        {
            return (null, node.Table.Current.DescriptorsOverlapping(shard, shard + 1));
        }

        return (Answer(store.ReadRecords(subject, predicate)), []);
    }

    private static ReplicaReadAnswer Answer(SubjectRecords records) =>
        new([.. records.Assertions.Select(s => AssertionDto.From(s.Assertion, s.RetractedAt))], [.. records.Retractions.Select(RetractionDto.From)]);

    private static void Merge(Dictionary<string, AssertionDto> merged, Dictionary<string, ulong> tombstones, ReplicaReadAnswer answer)
    {
        foreach (AssertionDto a in answer.Assertions)
        {
            merged[a.Id] = merged.TryGetValue(a.Id, out AssertionDto? known) ? Union(known, a) : a;
        }

        foreach (RetractionDto r in answer.Retractions)
        {
            tombstones[r.Target] = tombstones.TryGetValue(r.Target, out ulong at) ? Math.Min(at, r.RetractedAt) : r.RetractedAt;
        }
    }

    /// <summary>Stores what a coordinator sent here, if this node holds every range involved at the generation it was sent at.</summary>
    public async Task<(bool Stored, IReadOnlyList<RangeDescriptor> Current, bool StoreFailed)> StoreAsReplicaAsync(IReadOnlyList<RangeDescriptor> ranges, IReadOnlyList<Assertion> assertions, IReadOnlyList<Retraction> retractions)
    {
        var byRange = new Dictionary<RangeDescriptor, (List<Assertion> Assertions, List<Retraction> Retractions)>();
        foreach ((string subject, Assertion? assertion, Retraction? retraction) in assertions.Select(a => (a.Subject, (Assertion?)a, (Retraction?)null))
                     .Concat(retractions.Select(r => (r.Subject, (Assertion?)null, (Retraction?)r))))
        {
            int shard = store.ShardOf(subject);
            RangeDescriptor? range = ranges.FirstOrDefault(r => Serves(r, shard));
            if (range is null)
            {
                return (false, node.Table.Current.DescriptorsOverlapping(shard, shard + 1), false);
            }

            if (!byRange.TryGetValue(range, out var group))
            {
                byRange[range] = group = ([], []);
            }

            if (assertion is not null)
            {
                group.Assertions.Add(assertion);
            }
            else
            {
                group.Retractions.Add(retraction!);
            }
        }

        // Every range at once, so that a combined call's records share the store's group commit; the call
        // is acknowledged only if every range stored its part.
        var stored = await Task.WhenAll(byRange.Select(g => StoreLocallyAsync(g.Key, g.Value.Assertions, g.Value.Retractions))).ConfigureAwait(false);
        foreach ((QuorumOutcome? refused, int _) in stored)
        {
            if (refused is not null)
            {
                return (false, refused.Current, refused.Status == QuorumStatus.StoreFailed);
            }
        }

        return (true, [], false);
    }

    /// <summary>Whether this node holds <paramref name="range"/> at its generation for <paramref name="shard"/> (learning the descriptor first).</summary>
    private bool Serves(RangeDescriptor range, int shard)
    {
        if (!range.Contains(shard) || !range.Replicas.Contains(node.Id))
        {
            return false;
        }

        if (!node.Table.Current.Find(shard).Descriptor.Equals(range))
        {
            sync.Apply([range], "a coordinator"); // it may be newer than ours: coordinators route by decided descriptors
        }

        return node.Table.Current.Find(shard).Descriptor.Equals(range);
    }

    /// <summary>This node's copy of a quorum write: at the range's generation, through the fence, durable when it returns.</summary>
    private async Task<(QuorumOutcome? Refused, int Added)> StoreLocallyAsync(RangeDescriptor range, IReadOnlyList<Assertion> assertions, IReadOnlyList<Retraction> retractions)
    {
        int shard = range.StartShard;
        if (!Serves(range, shard))
        {
            return (new QuorumOutcome(QuorumStatus.Moved, 0, range.Replicas.Length, node.Table.Current.DescriptorsOverlapping(range.StartShard, range.EndShard)), 0);
        }

        using FenceGate.Pass? pass = gate.TryEnter(SlotId.Of(range));
        if (pass is null)
        {
            return (new QuorumOutcome(QuorumStatus.Fenced, 0, range.Replicas.Length, [range], "a change of this range is being decided; retry shortly"), 0);
        }

        // The store's part of the trace: queued for the group commit and durable (synced) once it ends.
        using System.Diagnostics.Activity? span = telemetry.Source.StartActivity("store write");
        span?.SetTag("stemedb.range", range.Id.ToString());
        span?.SetTag("stemedb.records", assertions.Count + retractions.Count);
        try
        {
            int added = 0;
            if (assertions.Count > 0)
            {
                added += await store.WriteAsync(assertions).ConfigureAwait(false);
            }

            foreach (Retraction r in retractions)
            {
                added += await store.RetractAsync(r).ConfigureAwait(false) ? 1 : 0;
            }

            return (null, added);
        }
        catch (StorageException e)
        {
            health.Failed(e);
            return (new QuorumOutcome(QuorumStatus.StoreFailed, 0, range.Replicas.Length, [], e.Message), 0);
        }
    }

    private QuorumOutcome Conclude(RangeDescriptor range, int answered, List<RangeDescriptor> moved, List<string> failures)
    {
        if (answered >= QuorumOf(range.Replicas.Length))
        {
            return new QuorumOutcome(QuorumStatus.Ok, answered, range.Replicas.Length, []);
        }

        if (moved.Count > 0)
        {
            sync.Apply(moved, "a replica's answer");
            return new QuorumOutcome(QuorumStatus.Moved, answered, range.Replicas.Length, node.Table.Current.DescriptorsOverlapping(range.StartShard, range.EndShard));
        }

        return new QuorumOutcome(QuorumStatus.NoQuorum, answered, range.Replicas.Length, [], string.Join("; ", failures));
    }

    private static AssertionDto Union(AssertionDto a, AssertionDto b) => a with
    {
        AssertedAt = Math.Min(a.AssertedAt, b.AssertedAt),
        RetractedAt = a.RetractedAt is null ? b.RetractedAt : b.RetractedAt is null ? a.RetractedAt : Math.Min(a.RetractedAt.Value, b.RetractedAt.Value),
    };
}
