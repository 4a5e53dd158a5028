using System.Buffers.Binary;
using System.Text.Json;
using StemeDb.Cluster.Consensus;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// This node as an acceptor of descriptor consensus. Before the Paxos rules (<see cref="Acceptor"/>) it
/// checks that it is a replica of the slot's descriptor, and answers <see cref="PrepareOutcome.Stale"/>
/// for a slot whose successor it knows but whose record it no longer keeps. It makes every new state
/// durable (a synced write) before it answers, and a promise or an acceptance fences the slot
/// (<see cref="FenceGate"/>): no write of the range at that generation is stored here any more.
/// Records are kept for <see cref="Retention"/> after the table moved past them, so that a late proposer
/// still learns the value chosen there.
/// </summary>
public sealed class ConsensusAcceptor
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    private readonly ClusterNode _node;
    private readonly MetaRangeSync _sync;
    private readonly RocksDbAssertionStore _store;
    private readonly FenceGate _gate;
    private readonly TimeProvider _time;
    private readonly ILogger<ConsensusAcceptor> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<SlotId, Record> _records = [];

    public ConsensusAcceptor(ClusterNode node, MetaRangeSync sync, RocksDbAssertionStore store, FenceGate gate, TimeProvider time, ILogger<ConsensusAcceptor> logger)
    {
        _node = node;
        _sync = sync;
        _store = store;
        _gate = gate;
        _time = time;
        _logger = logger;
        foreach ((byte[] _, byte[] value) in store.ScanMeta(MetaKind.Acceptor))
        {
            if (JsonSerializer.Deserialize<StoredRecord>(value, JsonSerializerOptions.Web) is { } stored)
            {
                Record record = stored.ToRecord(time.GetTimestamp());
                _records[SlotId.Of(record.Predecessor)] = record;
                if (!record.State.Promised.IsZero)
                {
                    _ = gate.FenceAsync(SlotId.Of(record.Predecessor)); // nothing is in flight at start
                }
            }
        }

        if (_records.Count > 0)
        {
            logger.LogInformation("Consensus: {Count} slot records from the store", _records.Count);
        }
    }

    /// <summary>Phase 1b.</summary>
    public async Task<PrepareReply> PrepareAsync(RangeDescriptor predecessor, Ballot ballot)
    {
        if (!predecessor.Replicas.Contains(_node.Id))
        {
            return PrepareReply.NotAnAcceptor;
        }

        _sync.Apply([predecessor], "a prepare");
        SlotId slot = SlotId.Of(predecessor);
        PrepareReply reply;
        lock (_lock)
        {
            _records.TryGetValue(slot, out Record? record);
            if (record is not null && !record.Predecessor.Equals(predecessor))
            {
                _logger.LogError("Refused a prepare for {Slot}: it names {Theirs}, this node promised for {Ours}", slot, predecessor, record.Predecessor);
                return PrepareReply.NotAnAcceptor;
            }

            if (record is null && Successors(predecessor) is { Length: > 0 } current)
            {
                return PrepareReply.StaleSlot([.. current]);
            }

            reply = Acceptor.Prepare(record?.State ?? AcceptorState.Empty, ballot, out AcceptorState next);
            if (reply.Outcome == PrepareOutcome.Promised && !next.Equals(record?.State))
            {
                Keep(predecessor, next);
            }
        }

        if (reply.Outcome == PrepareOutcome.Promised)
        {
            await _gate.FenceAsync(slot).ConfigureAwait(false);
            _logger.LogInformation("Consensus: promised {Ballot} for {Slot}; writes of range {Range} at generation {Generation} are refused here from now on", ballot, slot, predecessor.Id, predecessor.Generation);
        }

        return reply;
    }

    /// <summary>Phase 2b.</summary>
    public async Task<AcceptReply> AcceptAsync(RangeDescriptor predecessor, Ballot ballot, DescriptorChange value)
    {
        SlotId slot = SlotId.Of(predecessor);
        if (!predecessor.Replicas.Contains(_node.Id) || value.IndexOf(slot) < 0 || !value.Replaces[value.IndexOf(slot)].Equals(predecessor))
        {
            return AcceptReply.No(Ballot.Zero);
        }

        AcceptReply reply;
        lock (_lock)
        {
            _records.TryGetValue(slot, out Record? record);
            if (record is not null && !record.Predecessor.Equals(predecessor))
            {
                return AcceptReply.No(record.State.Promised);
            }

            reply = Acceptor.Accept(record?.State ?? AcceptorState.Empty, ballot, value, out AcceptorState next);
            if (reply.Accepted && !next.Equals(record?.State))
            {
                Keep(predecessor, next);
            }
        }

        if (reply.Accepted)
        {
            await _gate.FenceAsync(slot).ConfigureAwait(false);
        }

        return reply;
    }

    /// <summary>
    /// Slots this node promised whose range still stands at that generation in its table: undecided as far
    /// as it knows. With how long since the promise (local time), for recovery.
    /// </summary>
    public IReadOnlyList<(RangeDescriptor Predecessor, TimeSpan Age)> Undecided()
    {
        lock (_lock)
        {
            return [.. _records.Values
                .Where(r => !r.State.Promised.IsZero && Successors(r.Predecessor).Length == 0)
                .Select(r => (r.Predecessor, _time.GetElapsedTime(r.LocalTime)))];
        }
    }

    /// <summary>Drops the records of slots decided more than <see cref="Retention"/> ago (by this node's reckoning).</summary>
    public void Collect()
    {
        List<SlotId> old;
        lock (_lock)
        {
            old = [.. _records.Where(r => Successors(r.Value.Predecessor).Length > 0 && _time.GetElapsedTime(r.Value.LocalTime) > Retention).Select(r => r.Key)];
            foreach (SlotId slot in old)
            {
                _store.DeleteMeta(MetaKind.Acceptor, Key(slot));
                _records.Remove(slot);
            }
        }

        foreach (SlotId slot in old)
        {
            _gate.Release(slot);
        }
    }

    // Under the lock: durable first, then in memory, then (by the caller) the answer.
    private void Keep(RangeDescriptor predecessor, AcceptorState state)
    {
        SlotId slot = SlotId.Of(predecessor);
        var record = new Record(predecessor, state, _time.GetTimestamp()); // recovery waits from the last activity
        _store.PutMeta(MetaKind.Acceptor, Key(slot), JsonSerializer.SerializeToUtf8Bytes(StoredRecord.From(record), JsonSerializerOptions.Web));
        _records[slot] = record;
    }

    /// <summary>The descriptors holding the span of <paramref name="predecessor"/> instead of it, if any do.</summary>
    private RangeDescriptor[] Successors(RangeDescriptor predecessor)
    {
        IReadOnlyList<RangeDescriptor> holders = _node.Table.Current.DescriptorsOverlapping(predecessor.StartShard, predecessor.EndShard);
        return holders.Count == 1 && holders[0].Equals(predecessor) ? [] : [.. holders];
    }

    private static byte[] Key(SlotId slot)
    {
        byte[] key = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(key, slot.Range.Value);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), slot.Generation);
        return key;
    }

    private sealed record Record(RangeDescriptor Predecessor, AcceptorState State, long LocalTime);

    private sealed record StoredRecord(RangeDescriptorDto Predecessor, BallotDto Promised, BallotDto AcceptedBallot, DescriptorChangeDto? Accepted)
    {
        public static StoredRecord From(Record r) =>
            new(RangeDescriptorDto.From(r.Predecessor), BallotDto.From(r.State.Promised), BallotDto.From(r.State.AcceptedBallot), r.State.Accepted is null ? null : DescriptorChangeDto.From(r.State.Accepted));

        public Record ToRecord(long localTime) =>
            new(Predecessor.ToDescriptor(), new AcceptorState(Promised.ToBallot(), AcceptedBallot.ToBallot(), Accepted?.ToChange()), localTime);
    }
}
