using System.Collections.Immutable;
using StemeDb.Cluster.Consensus;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Consensus;

/// <summary>How an acceptor may be broken on purpose, to show that the simulation notices.</summary>
public enum AcceptorFlaw
{
    None,

    /// <summary>After a restart it no longer remembers promises beyond what it accepted.</summary>
    ForgetsPromise,

    /// <summary>After a restart it no longer remembers what it accepted.</summary>
    ForgetsAccepted,
}

/// <summary>
/// One randomized schedule of descriptor consensus: six nodes, two ranges, proposers that pick changes
/// (split, replica change, leader move, renewal, merge) from their own possibly stale tables, competing,
/// over a network that loses, duplicates and reorders messages, with acceptors that crash and restart
/// (keeping their durable state, unless <see cref="AcceptorFlaw"/> says otherwise) and proposers that die
/// mid-change. The production pieces run unchanged: <see cref="Acceptor"/>, <see cref="SlotDecider"/>
/// (with <see cref="SlotRound"/>) and <see cref="ChangeOrchestration"/>; only the transport is simulated.
/// Everything runs on one thread in virtual time, so a seed replays a schedule exactly.
/// <para>
/// It checks, against the acceptors' own record of what they accepted: at most one value is chosen per
/// slot; every outcome a proposer publishes follows from values actually chosen; and no two publications
/// give one slot different successors.
/// </para>
/// </summary>
internal sealed class ConsensusSimulation : IConsensusTransport
{
    private const int Shards = 64;
    private const long ReplyTimeout = 300;
    private readonly Random _random;
    private readonly AcceptorFlaw _flaw;
    private readonly double _loss;
    private readonly double _duplicates;
    private readonly PriorityQueue<Action, (long Time, int Order)> _events = new();
    private readonly NodeId[] _nodes = [.. Enumerable.Range(1, 6).Select(i => new NodeId($"node-{i}"))];
    private readonly Dictionary<NodeId, Dictionary<SlotId, AcceptorState>> _durable = [];
    private readonly HashSet<NodeId> _down = [];
    private readonly Dictionary<NodeId, MetaRange> _tables = [];
    private readonly Dictionary<NodeId, ulong> _rounds = [];
    private readonly Dictionary<(SlotId Slot, Ballot Ballot), (DescriptorChange Value, HashSet<NodeId> By)> _accepts = [];
    private readonly Dictionary<SlotId, HashSet<DescriptorChange>> _chosen = [];
    private readonly Dictionary<SlotId, ImmutableArray<RangeDescriptor>> _successors = [];
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private long _now;
    private int _order;
    private NodeId _current; // the proposer whose transport call is being made

    public ConsensusSimulation(int seed, AcceptorFlaw flaw = AcceptorFlaw.None)
    {
        _random = new Random(seed);
        _flaw = flaw;
        _loss = _random.NextDouble() * 0.3;
        _duplicates = _random.NextDouble() * 0.3;
        var genesis = MetaRange.GenesisDescriptor(Shards, _nodes.Take(3), _nodes[0]);
        RangeDescriptor left = new(genesis.Id, 0, Shards / 2, genesis.Replicas, 1, new HlcTimestamp(1, 0), _nodes[0]);
        RangeDescriptor right = new(RangeId.Derive(genesis.Id, 1, Shards / 2), Shards / 2, Shards, genesis.Replicas, 1, new HlcTimestamp(1, 0), _nodes[0]);
        foreach (NodeId node in _nodes)
        {
            _durable[node] = [];
            _tables[node] = new MetaRange(Shards, genesis);
            _tables[node].Apply([left, right]);
            _rounds[node] = 0;
        }
    }

    public List<string> Violations { get; } = [];

    public int Proposals { get; private set; }

    public int Applied { get; private set; }

    public int Carried { get; private set; }

    public int MergesApplied { get; private set; }

    public int Abandoned { get; private set; }

    public int ChosenSlots => _chosen.Count;

    /// <summary>Runs the schedule to its end (bounded in steps) and checks the invariants.</summary>
    public void Run()
    {
        // No synchronization context (the test runner installs one): continuations must run inline, on this thread.
        SynchronizationContext? context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            RunSchedule();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private void RunSchedule()
    {
        int proposals = _random.Next(2, 9);
        for (int i = 0; i < proposals; i++)
        {
            NodeId proposer = _nodes[_random.Next(_nodes.Length)];
            At(_random.Next(0, 1500), () => StartProposal(proposer));
        }

        // A broken acceptor shows only if it restarts between a promise and a later message: crash often then.
        int crashes = _flaw == AcceptorFlaw.None ? _random.Next(0, 6) : _random.Next(5, 30);
        for (int i = 0; i < crashes; i++)
        {
            NodeId victim = _nodes[_random.Next(3)];
            At(_random.Next(0, 2500), () => Crash(victim, _random.Next(5, 200)));
        }

        for (int steps = 0; _events.Count > 0; steps++)
        {
            if (steps > 200_000)
            {
                Violations.Add("the schedule did not end within 200 000 steps");
                return;
            }

            _events.TryDequeue(out Action? action, out (long Time, int Order) when);
            _now = when.Time;
            action!();
        }

        foreach ((SlotId slot, HashSet<DescriptorChange> values) in _chosen.Where(c => c.Value.Count > 1))
        {
            Violations.Add($"slot {slot} chose {values.Count} values: {string.Join(" | ", values)}");
        }
    }

    public Ballot NextBallot(Ballot above)
    {
        CheckThread();
        ulong round = Math.Max(_rounds[_current] + 1, above.Round + 1);
        _rounds[_current] = round;
        return new Ballot(round, _current);
    }

    public Task<PrepareReply?> PrepareAsync(NodeId acceptor, RangeDescriptor predecessor, Ballot ballot, CancellationToken cancellationToken) =>
        Call(acceptor, cancellationToken, () =>
        {
            if (!predecessor.Replicas.Contains(acceptor))
            {
                return PrepareReply.NotAnAcceptor;
            }

            SlotId slot = SlotId.Of(predecessor);
            PrepareReply reply = Acceptor.Prepare(StateOf(acceptor, slot), ballot, out AcceptorState next);
            _durable[acceptor][slot] = next;
            return reply;
        });

    public Task<AcceptReply?> AcceptAsync(NodeId acceptor, RangeDescriptor predecessor, Ballot ballot, DescriptorChange value, CancellationToken cancellationToken) =>
        Call(acceptor, cancellationToken, () =>
        {
            if (!predecessor.Replicas.Contains(acceptor))
            {
                return AcceptReply.No(Ballot.Zero);
            }

            SlotId slot = SlotId.Of(predecessor);
            AcceptReply reply = Acceptor.Accept(StateOf(acceptor, slot), ballot, value, out AcceptorState next);
            _durable[acceptor][slot] = next;
            if (reply.Accepted)
            {
                RecordAccept(slot, ballot, value, acceptor, (predecessor.Replicas.Length / 2) + 1);
            }

            return reply;
        });

    public Task<bool> FillAsync(RangeDescriptor predecessor, DescriptorChange value, IReadOnlyList<NodeId> promisers, CancellationToken cancellationToken)
    {
        CheckThread();
        var done = new TaskCompletionSource<bool>();
        cancellationToken.Register(() => done.TrySetCanceled());
        bool ok = _random.NextDouble() < 0.9;
        At(_random.Next(1, 80), () => done.TrySetResult(ok));
        return done.Task;
    }

    public Task BackoffAsync(int attempt, CancellationToken cancellationToken)
    {
        CheckThread();
        var done = new TaskCompletionSource();
        cancellationToken.Register(() => done.TrySetCanceled());
        At(_random.Next(10, 100 * attempt), () => done.TrySetResult());
        return done.Task;
    }

    private void StartProposal(NodeId proposer)
    {
        if (_down.Contains(proposer) || PickChange(proposer) is not { } change)
        {
            return;
        }

        Proposals++;
        var cancel = new CancellationTokenSource();
        if (_random.NextDouble() < 0.15)
        {
            At(_random.Next(1, 400), cancel.Cancel); // the proposer dies mid-change
        }

        _ = RunProposalAsync(proposer, change, cancel.Token);
    }

    private async Task RunProposalAsync(NodeId proposer, DescriptorChange change, CancellationToken cancellationToken)
    {
        var decider = new SlotDecider(new As(this, proposer));
        ChangeResult result;
        try
        {
            result = await ChangeOrchestration.CarryOutAsync(change, decider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e)
        {
            Violations.Add($"a proposer failed: {e}");
            return;
        }

        Applied += result.Took ? 1 : 0;
        MergesApplied += result.Took && change.Kind == RangeChangeKind.Merge ? 1 : 0;
        Abandoned += result.Outcomes.Count(o => !o.Successors.SequenceEqual(o.Source.Creates));
        Carried += result.Outcomes.Any(o => !o.Source.Equals(change)) ? 1 : 0;
        foreach (SlotOutcome outcome in result.Outcomes)
        {
            Check(outcome);
        }

        ImmutableArray<RangeDescriptor> publish = result.Publish;
        if (publish.IsEmpty)
        {
            return;
        }

        _tables[proposer].Apply(publish);
        foreach (NodeId other in _nodes.Where(n => n != proposer && _random.NextDouble() > _loss))
        {
            At(_random.Next(1, 200), () => _tables[other].Apply(publish));
        }

        // A learner may go on with a change of its own on what it just learned.
        if (_random.NextDouble() < 0.5)
        {
            NodeId next = _nodes[_random.Next(_nodes.Length)];
            At(_random.Next(1, 300), () => StartProposal(next));
        }
    }

    /// <summary>What a publication claims must follow from what the acceptors chose.</summary>
    private void Check(SlotOutcome outcome)
    {
        bool tookEffect = outcome.Successors.SequenceEqual(outcome.Source.Creates);
        foreach (SlotId slot in outcome.Slots)
        {
            if (!_chosen.TryGetValue(slot, out HashSet<DescriptorChange>? chosen) || !chosen.Contains(outcome.Source))
            {
                Violations.Add($"published an outcome of slot {slot} from {outcome.Source}, which it never chose");
            }

            if (_successors.TryGetValue(slot, out ImmutableArray<RangeDescriptor> earlier))
            {
                if (!earlier.SequenceEqual(outcome.Successors))
                {
                    Violations.Add($"slot {slot} was published with two outcomes: [{string.Join("; ", earlier)}] and [{string.Join("; ", outcome.Successors)}]");
                }
            }
            else
            {
                _successors[slot] = outcome.Successors;
            }
        }

        if (!tookEffect && outcome.Slots.Length != 1)
        {
            Violations.Add($"an abandoned outcome names {outcome.Slots.Length} slots");
        }
    }

    /// <summary>A random change to a random range of the proposer's table.</summary>
    private DescriptorChange? PickChange(NodeId proposer)
    {
        ImmutableArray<MetaRangeEntry> entries = _tables[proposer].Current.Entries;
        int index = _random.Next(entries.Length);
        RangeDescriptor d = entries[index].Descriptor;
        if (entries[index].IsClipped)
        {
            return null;
        }

        var now = new HlcTimestamp(_now + 10, (ushort)_random.Next(100));
        long gen = d.Generation + 1;
        switch (_random.Next(5))
        {
            case 0 when d.ShardCount >= 2:
                int at = _random.Next(d.StartShard + 1, d.EndShard);
                return new DescriptorChange(RangeChangeKind.Split, [d], [
                    new RangeDescriptor(d.Id, d.StartShard, at, d.Replicas, gen, now, proposer),
                    new RangeDescriptor(RangeId.Derive(d.Id, gen, at), at, d.EndShard, d.Replicas, gen, now, proposer)]);
            case 1:
                NodeId[] others = [.. _nodes.Where(n => !d.Replicas.Contains(n))];
                ImmutableArray<NodeId> replicas = d.Replicas.SetItem(_random.Next(d.Replicas.Length), others[_random.Next(others.Length)]);
                return new DescriptorChange(RangeChangeKind.Replicate, [d], [new RangeDescriptor(d.Id, d.StartShard, d.EndShard, replicas, gen, now, proposer)]);
            case 2:
                return new DescriptorChange(RangeChangeKind.Reorder, [d], [new RangeDescriptor(d.Id, d.StartShard, d.EndShard, [.. d.Replicas.Skip(1), d.Replicas[0]], gen, now, proposer)]);
            case 3:
                return DescriptorChange.Renew(d, now, proposer);
            default:
                int neighbour = _random.Next(2) == 0 ? index - 1 : index + 1;
                if (neighbour < 0 || neighbour >= entries.Length || entries[neighbour].IsClipped || !entries[neighbour].Descriptor.HasSameReplicaSet(d))
                {
                    return DescriptorChange.Renew(d, now, proposer);
                }

                RangeDescriptor l = entries[Math.Min(index, neighbour)].Descriptor;
                RangeDescriptor r = entries[Math.Max(index, neighbour)].Descriptor;
                long merged = Math.Max(l.Generation, r.Generation) + 1;
                return new DescriptorChange(RangeChangeKind.Merge, [l, r], [new RangeDescriptor(l.Id, l.StartShard, r.EndShard, l.Replicas, merged, now, proposer)]);
        }
    }

    /// <summary>A request to an acceptor and its reply, each lost, duplicated or delayed; null after the timeout.</summary>
    private Task<T?> Call<T>(NodeId acceptor, CancellationToken cancellationToken, Func<T> handle)
        where T : class
    {
        CheckThread();
        var reply = new TaskCompletionSource<T?>();
        cancellationToken.Register(() => reply.TrySetCanceled());
        NodeId proposer = _current;
        int copies = _random.NextDouble() < _loss ? 0 : _random.NextDouble() < _duplicates ? 2 : 1;
        for (int c = 0; c < copies; c++)
        {
            At(_random.Next(1, 60), () =>
            {
                if (_down.Contains(acceptor) || _down.Contains(proposer))
                {
                    return;
                }

                T answer = handle();
                if (_random.NextDouble() >= _loss)
                {
                    At(_random.Next(1, 60), () => reply.TrySetResult(answer));
                }
            });
        }

        At(ReplyTimeout, () => reply.TrySetResult(null));
        return reply.Task;
    }

    private AcceptorState StateOf(NodeId acceptor, SlotId slot) =>
        _durable[acceptor].TryGetValue(slot, out AcceptorState? state) ? state : AcceptorState.Empty;

    private void RecordAccept(SlotId slot, Ballot ballot, DescriptorChange value, NodeId acceptor, int quorum)
    {
        if (!_accepts.TryGetValue((slot, ballot), out (DescriptorChange Value, HashSet<NodeId> By) accepts))
        {
            accepts = (value, []);
            _accepts[(slot, ballot)] = accepts;
        }
        else if (!accepts.Value.Equals(value))
        {
            Violations.Add($"ballot {ballot} of slot {slot} carried two values");
        }

        accepts.By.Add(acceptor);
        if (accepts.By.Count >= quorum)
        {
            if (!_chosen.TryGetValue(slot, out HashSet<DescriptorChange>? chosen))
            {
                _chosen[slot] = chosen = [];
            }

            chosen.Add(value);
        }
    }

    private void Crash(NodeId node, int downFor)
    {
        _down.Add(node);
        At(downFor, () =>
        {
            _down.Remove(node);
            Dictionary<SlotId, AcceptorState> durable = _durable[node];
            foreach (SlotId slot in durable.Keys.ToList())
            {
                durable[slot] = _flaw switch
                {
                    AcceptorFlaw.ForgetsPromise => durable[slot] with { Promised = durable[slot].AcceptedBallot },
                    AcceptorFlaw.ForgetsAccepted => durable[slot] with { AcceptedBallot = Ballot.Zero, Accepted = null },
                    _ => durable[slot],
                };
            }
        });
    }

    private void At(long delay, Action action) => _events.Enqueue(action, (_now + delay, _order++));

    private void CheckThread()
    {
        if (Environment.CurrentManagedThreadId != _thread)
        {
            throw new InvalidOperationException("A continuation left the simulation thread: the schedule would not replay.");
        }
    }

    /// <summary>The transport as one proposer sees it (its ballots, its liveness).</summary>
    private sealed class As(ConsensusSimulation sim, NodeId proposer) : IConsensusTransport
    {
        public Ballot NextBallot(Ballot above) => Enter().NextBallot(above);

        public Task<PrepareReply?> PrepareAsync(NodeId acceptor, RangeDescriptor predecessor, Ballot ballot, CancellationToken cancellationToken) =>
            Enter().PrepareAsync(acceptor, predecessor, ballot, cancellationToken);

        public Task<AcceptReply?> AcceptAsync(NodeId acceptor, RangeDescriptor predecessor, Ballot ballot, DescriptorChange value, CancellationToken cancellationToken) =>
            Enter().AcceptAsync(acceptor, predecessor, ballot, value, cancellationToken);

        public Task<bool> FillAsync(RangeDescriptor predecessor, DescriptorChange value, IReadOnlyList<NodeId> promisers, CancellationToken cancellationToken) =>
            Enter().FillAsync(predecessor, value, promisers, cancellationToken);

        public Task BackoffAsync(int attempt, CancellationToken cancellationToken) => Enter().BackoffAsync(attempt, cancellationToken);

        private ConsensusSimulation Enter()
        {
            sim._current = proposer;
            return sim;
        }
    }
}
