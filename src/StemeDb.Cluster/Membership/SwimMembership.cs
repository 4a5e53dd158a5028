using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership.Transport;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// SWIM membership (Das, Gupta, Motivala 2002) with Lifeguard (Dadgar et al. 2017), in the manner of
/// hashicorp/memberlist: round-robin probing with ping, ping-req through k members and ack; suspicion with
/// incarnation numbers only the suspect raises; infection-style dissemination piggybacked on every
/// datagram; join through seeds and periodic push-pull state sync; graceful leave. This file holds the
/// state and the plumbing; probing, state changes and gossip/push-pull live in the partial files named
/// for them.
/// <para>
/// Concurrency: every timer callback and datagram runs under one lock; datagrams to send and events to
/// raise are collected under it and handed out after it is released. Time comes only from the
/// <see cref="TimeProvider"/>, randomness only from the given <see cref="Random"/>, so a simulator with
/// virtual time and a seed replays a run exactly.
/// </para>
/// </summary>
public sealed partial class SwimMembership : IAsyncDisposable
{
    private readonly SwimConfig _config;
    private readonly ISwimTransport _transport;
    private readonly Keyring _keyring;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<NodeId, Member> _members = [];
    private readonly List<Member> _memberList = []; // the same members, indexable for O(1) random picks
    private int _activeCount = -1; // cached; -1 when a state change made it stale
    private readonly Dictionary<NodeId, uint> _tombstones = []; // incarnations of reaped members: evidence stays monotone
    private readonly BroadcastQueue _broadcasts;
    private readonly Awareness _awareness;
    private readonly List<(IPEndPoint To, byte[] Datagram)> _outbox = [];
    private readonly List<MembershipEvent> _pendingEvents = [];
    private readonly List<SwimMessage> _decoded = [];
    private readonly List<Channel<MembershipEvent>> _watchers = [];
    private readonly int _maxDatagram;
    private ITimer? _probeTimer;
    private ITimer? _probeTimeoutTimer;
    private ITimer? _gossipTimer;
    private ITimer? _pushPullTimer;
    private ITimer? _reapTimer;
    private TaskCompletionSource? _joinReply;
    private ITimer? _joinTimer;
    private IPEndPoint[] _joinSeeds = [];
    private TimeSpan _joinBackoff;
    private uint _incarnation;
    private uint _sequence;
    private bool _started;
    private bool _leaving;
    private bool _stopped;
    private long _received;
    private long _sent;
    private long _bytesSent;
    private int _largest;
    private long _malformed;
    private long _unauthenticated;
    private long _foreign;
    private readonly HashSet<ClusterId> _foreignLogged = [];
    private readonly ClusterId _cluster;
    private long _deathsDeclared;
    private long _refutations;
    private long _probes;
    private long _failedProbes;
    private long _suspicions;

    public SwimMembership(
        SwimConfig config,
        LocalMember local,
        ISwimTransport transport,
        Keyring keyring,
        TimeProvider time,
        Random? random = null,
        ILogger<SwimMembership>? logger = null,
        ClusterId cluster = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(keyring);
        ArgumentNullException.ThrowIfNull(time);
        _config = config;
        _transport = transport;
        _keyring = keyring;
        _time = time;
        _random = random ?? new Random();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _broadcasts = new BroadcastQueue(config.RetransmitMult);
        _awareness = new Awareness(config.AwarenessMaxMultiplier, config.Lifeguard);
        _maxDatagram = config.MaxPacketBytes;
        LocalId = local.Id;
        _cluster = cluster;

        // A boot incarnation from the clock: a restarted member outranks what the cluster remembers of its
        // previous life without waiting to be accused (memberlist #311), as long as clocks move forward.
        _incarnation = (uint)Math.Clamp(time.GetUtcNow().ToUnixTimeSeconds(), 0, uint.MaxValue / 2);
        var self = new NodeInfo(local.Id, transport.LocalAddress, local.AppId, local.HttpAddress, _incarnation, NodeState.Alive, local.Metadata);
        CheckFits(self);
        AddMember(new Member(self, time.GetTimestamp()));
    }

    public NodeId LocalId { get; }

    /// <summary>This member as the others see it.</summary>
    public NodeInfo Self
    {
        get
        {
            lock (_lock)
            {
                return _members[LocalId].Info;
            }
        }
    }

    /// <summary>Every known member, this one included, with its state (dead and left ones until reaped).</summary>
    public IReadOnlyList<NodeInfo> Members
    {
        get
        {
            lock (_lock)
            {
                return [.. _members.Values.Select(m => m.Info)];
            }
        }
    }

    /// <summary>Members alive or suspected, this one included.</summary>
    public IReadOnlyList<NodeInfo> ActiveMembers
    {
        get
        {
            lock (_lock)
            {
                return [.. _members.Values.Where(m => m.Info.IsActive).Select(m => m.Info)];
            }
        }
    }

    /// <summary>How many members are alive or suspected, this one included.</summary>
    public int ActiveMemberCount
    {
        get
        {
            lock (_lock)
            {
                return ActiveCount();
            }
        }
    }

    public SwimStats Stats
    {
        get
        {
            lock (_lock)
            {
                return new SwimStats(_received, _sent, _bytesSent, _largest, _malformed, _unauthenticated, _deathsDeclared, _refutations, _awareness.Score, _foreign, _probes, _failedProbes, _suspicions);
            }
        }
    }

    /// <summary>Raised after every state change, outside the lock, in the order the changes happened.</summary>
    public event Action<MembershipEvent>? Changed;

    public NodeInfo? Find(NodeId id)
    {
        lock (_lock)
        {
            return _members.TryGetValue(id, out Member? m) ? m.Info : null;
        }
    }

    /// <summary>The state changes from now on, until <paramref name="cancellationToken"/> ends the stream.</summary>
    public async IAsyncEnumerable<MembershipEvent> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Bounded: a watcher that stops reading loses the oldest events, not the process's memory.
        var channel = Channel.CreateBounded<MembershipEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            _watchers.Add(channel);
        }

        try
        {
            await foreach (MembershipEvent e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(channel);
            }
        }
    }

    /// <summary>Starts the protocol: receiving, probing, gossip, push-pull. Alone until it joins.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_started)
            {
                throw new InvalidOperationException("The membership is already started.");
            }

            _started = true;
            _probeTimer = _time.CreateTimer(_ => Run(ProbeTick), null, Jitter(_config.ProbeInterval), Timeout.InfiniteTimeSpan);
            _probeTimeoutTimer = _time.CreateTimer(_ => Run(ProbeTimeoutElapsed), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _gossipTimer = _time.CreateTimer(_ => Run(GossipTick), null, Jitter(_config.GossipInterval), _config.GossipInterval);
            _pushPullTimer = _time.CreateTimer(_ => Run(PushPullTick), null, Jitter(PushPullInterval()), Timeout.InfiniteTimeSpan);
            _reapTimer = _time.CreateTimer(_ => Run(Reap), null, _config.GossipToTheDeadTime, _config.GossipToTheDeadTime > TimeSpan.Zero ? _config.GossipToTheDeadTime / 2 : Timeout.InfiniteTimeSpan);
        }

        _transport.Start(OnDatagram);
        if (!_keyring.IsEnabled)
        {
            _logger.LogWarning("SWIM runs without cluster keys: anyone who can reach {Address} can join or accuse members. Set Cluster:Swim:Keys", _transport.LocalAddress);
        }

        _logger.LogInformation("SWIM member {Node} started at {Address} (incarnation {Incarnation}, Lifeguard {Lifeguard})", LocalId, _transport.LocalAddress, _incarnation, _config.Lifeguard);
    }

    /// <summary>
    /// Joins through <paramref name="seeds"/>: a push-pull state exchange with each until one answers.
    /// Throws <see cref="SwimJoinException"/> when none answers within the join timeout.
    /// </summary>
    public async Task JoinAsync(IReadOnlyCollection<IPEndPoint> seeds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        IPEndPoint[] others = [.. seeds.Where(s => !s.Equals(_transport.LocalAddress))];
        if (others.Length == 0)
        {
            return; // the first member: nothing to join
        }

        Task replied = StartJoin(others);
        try
        {
            await replied.WaitAsync(_config.JoinTimeout, _time, cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("SWIM member {Node} joined through {Seeds}", LocalId, string.Join(", ", others.Select(s => s.ToString())));
        }
        catch (TimeoutException)
        {
            throw new SwimJoinException($"No seed answered within {_config.JoinTimeout}: {string.Join(", ", others.Select(s => s.ToString()))}.");
        }
        finally
        {
            Run(() =>
            {
                _joinTimer?.Dispose();
                _joinTimer = null;
            });
        }
    }

    /// <summary>
    /// Sends join requests to <paramref name="seeds"/> and retries on a timer inside the protocol (so a
    /// simulated join replays exactly) until one answers; the task completes with the first answer.
    /// </summary>
    public Task StartJoin(IReadOnlyCollection<IPEndPoint> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        Task replied = Task.CompletedTask;
        Run(() =>
        {
            _joinReply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            replied = _joinReply.Task;
            _joinSeeds = [.. seeds];
            _joinBackoff = _config.ProbeInterval;
            _joinTimer?.Dispose();
            _joinTimer = _time.CreateTimer(_ => Run(JoinRetry), null, _joinBackoff, Timeout.InfiniteTimeSpan);
            SendJoin();
        });
        return replied;
    }

    private void SendJoin()
    {
        foreach (IPEndPoint seed in _joinSeeds)
        {
            SendState(seed, join: true, isReply: false);
        }
    }

    private void JoinRetry()
    {
        if (_joinReply is null || _joinReply.Task.IsCompleted)
        {
            _joinTimer?.Dispose();
            _joinTimer = null;
            return;
        }

        SendJoin();
        _joinBackoff = TimeSpan.FromTicks(Math.Min(_joinBackoff.Ticks * 2, _config.PushPullInterval.Ticks));
        _joinTimer?.Change(_joinBackoff, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Leaves gracefully: tells the others (they mark this member <see cref="NodeState.Left"/>, not dead),
    /// keeps gossiping until the news has been sent its full share of times or <paramref name="timeout"/>
    /// passes, then stops.
    /// </summary>
    public async Task LeaveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Run(() =>
        {
            if (_leaving)
            {
                return;
            }

            _leaving = true;
            _activeCount = -1;
            Member self = _members[LocalId];
            self.Info = self.Info with { State = NodeState.Left };
            Broadcast(LocalId, new DeadMessage(LocalId, _incarnation, LocalId));
            _logger.LogInformation("SWIM member {Node} is leaving", LocalId);
        });

        try
        {
            long started = _time.GetTimestamp();
            while (_time.GetElapsedTime(started) < timeout)
            {
                bool others;
                int queued;
                lock (_lock)
                {
                    others = _members.Values.Any(m => m.Info.Id != LocalId && m.Info.IsActive);
                    queued = _broadcasts.Count;
                }

                if (!others || queued == 0)
                {
                    break;
                }

                await Task.Delay(_config.GossipInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Cancelled or not, a member that said goodbye stops.
            await StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Changes this member's metadata and tells everyone (a new incarnation).</summary>
    public void UpdateMetadata(ImmutableSortedDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        Run(() =>
        {
            Member self = _members[LocalId];
            CheckFits(self.Info with { Metadata = metadata });
            _incarnation++;
            self.Info = self.Info with { Metadata = metadata, Incarnation = _incarnation };
            Broadcast(LocalId, AliveOf(self.Info));
        });
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StopAsync()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            _probeTimer?.Dispose();
            _probeTimeoutTimer?.Dispose();
            _gossipTimer?.Dispose();
            _pushPullTimer?.Dispose();
            _reapTimer?.Dispose();
            _joinTimer?.Dispose();
            foreach (Member m in _members.Values)
            {
                m.Suspicion?.Dispose();
            }

            foreach (PendingAck pending in _acks.Values)
            {
                pending.Timer?.Dispose();
            }

            _acks.Clear();
            foreach (Channel<MembershipEvent> watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation("SWIM member {Node} stopped", LocalId);
    }

    /// <summary>Runs <paramref name="body"/> under the lock, then sends what it queued and raises its events.</summary>
    private void Run(Action body)
    {
        (IPEndPoint, byte[])[] outbox;
        MembershipEvent[] events;
        Channel<MembershipEvent>[] watchers;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            body();
            outbox = [.. _outbox];
            _outbox.Clear();
            events = [.. _pendingEvents];
            _pendingEvents.Clear();
            watchers = events.Length > 0 ? [.. _watchers] : [];
        }

        foreach ((IPEndPoint to, byte[] datagram) in outbox)
        {
            _transport.Send(to, datagram);
        }

        foreach (MembershipEvent e in events)
        {
            Changed?.Invoke(e);
            foreach (Channel<MembershipEvent> watcher in watchers)
            {
                watcher.Writer.TryWrite(e);
            }
        }
    }

    private void OnDatagram(ReadOnlyMemory<byte> datagram, IPEndPoint from) => Run(() =>
    {
        _received++;
        switch (SwimCodec.TryDecodeDatagram(datagram.Span, _keyring, _decoded, _cluster))
        {
            case SwimCodec.DecodeResult.ForeignCluster:
                _foreign++;
                SwimCodec.TryReadCluster(datagram.Span, out ClusterId foreign);
                // Once per foreign cluster (bounded), so a misconfigured neighbour cannot flood the log.
                if (_foreignLogged.Count < 64 && _foreignLogged.Add(foreign))
                {
                    _logger.LogWarning(
                        "Dropped SWIM datagrams from {Address}: it belongs to cluster {Foreign}, this node to cluster {Cluster} (another genesis, shard count or cluster name); it is refused as a member",
                        from, foreign, _cluster);
                }

                return;
            case SwimCodec.DecodeResult.Unauthenticated:
                _unauthenticated++;
                _logger.LogDebug("Dropped a SWIM datagram from {Address}: authentication failed", from);
                return;
            case SwimCodec.DecodeResult.Malformed:
                _malformed++;
                _logger.LogDebug("Dropped a malformed SWIM datagram ({Bytes} bytes) from {Address}", datagram.Length, from);
                return;
        }

        foreach (SwimMessage message in _decoded)
        {
            Handle(message, from);
        }
    });

    private void Handle(SwimMessage message, IPEndPoint from)
    {
        switch (message)
        {
            case Ping ping:
                HandlePing(ping, from);
                break;
            case IndirectPing indirect:
                HandleIndirectPing(indirect, from);
                break;
            case Ack ack:
                HandleAck(ack);
                break;
            case Nack nack:
                HandleNack(nack);
                break;
            case AliveMessage alive:
                AliveNode(alive);
                break;
            case SuspectMessage suspect:
                SuspectNode(suspect);
                break;
            case DeadMessage dead:
                DeadNode(dead);
                break;
            case PushPullMessage pushPull:
                HandlePushPull(pushPull, from);
                break;
        }
    }

    /// <summary>Queues a datagram of <paramref name="primary"/> plus as much gossip as fits.</summary>
    private void Send(IPEndPoint to, params SwimMessage[] primary)
    {
        var framed = new List<byte[]>(primary.Length + 4);
        int used = SwimCodec.HeaderBytes(_keyring);
        foreach (SwimMessage message in primary)
        {
            byte[] bytes = SwimCodec.EncodeMessage(message);
            framed.Add(bytes);
            used += bytes.Length;
        }

        framed.AddRange(_broadcasts.Take(_maxDatagram - used, ActiveCount()));
        SendFramed(to, framed);
    }

    private void SendFramed(IPEndPoint to, List<byte[]> framed)
    {
        byte[] datagram = SwimCodec.EncodeDatagram(framed, _keyring, _cluster);
        _sent++;
        _bytesSent += datagram.Length;
        _largest = Math.Max(_largest, datagram.Length);
        _outbox.Add((to, datagram));
    }

    private void Broadcast(NodeId about, SwimMessage message) => _broadcasts.Enqueue(about, SwimCodec.EncodeMessage(message));

    private void Raise(MembershipEventKind kind, NodeInfo member) =>
        _pendingEvents.Add(new MembershipEvent(kind, member, _time.GetUtcNow(), LocalId));

    private int ActiveCount()
    {
        if (_activeCount < 0)
        {
            _activeCount = _memberList.Count(m => m.Info.IsActive);
        }

        return _activeCount;
    }

    private void AddMember(Member member)
    {
        member.Index = _memberList.Count;
        _memberList.Add(member);
        _members[member.Info.Id] = member;
        _activeCount = -1;
    }

    private void RemoveMember(Member member)
    {
        // Swap with the last so removal is O(1) and indexes stay dense.
        Member last = _memberList[^1];
        _memberList[member.Index] = last;
        last.Index = member.Index;
        _memberList.RemoveAt(_memberList.Count - 1);
        _members.Remove(member.Info.Id);
        _activeCount = -1;
    }

    private static AliveMessage AliveOf(NodeInfo info) =>
        new(info.Id, info.Incarnation, info.SwimAddress, info.AppId, info.HttpAddress, info.Metadata);

    // Spreads the first tick of periodic work so members started together do not act in lockstep.
    private TimeSpan Jitter(TimeSpan interval) => interval * (0.1 + (0.9 * _random.NextDouble()));

    /// <summary>
    /// Forgets members gone long enough: left ones after GossipToTheDeadTime, dead ones after
    /// ReconnectTimeout (until then they are retried, as they may only have been cut off).
    /// </summary>
    /// <summary>
    /// A member's entry must fit one datagram with room to spare (memberlist caps metadata at 512 bytes for
    /// the same reason): push-pull slices and alive messages never split an entry.
    /// </summary>
    private void CheckFits(NodeInfo info)
    {
        int limit = (_maxDatagram - SwimCodec.HeaderBytes(_keyring)) / 2;
        int bytes = SwimCodec.MemberBytes(info);
        if (bytes > limit)
        {
            throw new ArgumentException($"This member's id, addresses and metadata take {bytes} bytes on the wire; at most {limit} fit (half a datagram).");
        }
    }

    private void Reap()
    {
        long now = _time.GetTimestamp();
        foreach (Member m in _members.Values.Where(m => !m.Info.IsActive && m.Info.Id != LocalId).ToList())
        {
            TimeSpan keep = m.Info.State == NodeState.Left ? _config.GossipToTheDeadTime : _config.ReconnectTimeout;
            if (_time.GetElapsedTime(m.StateChanged, now) >= keep)
            {
                RemoveMember(m);
                Bury(m.Info.Id, m.Info.Incarnation);
            }
        }
    }

    /// <summary>What this member holds about another.</summary>
    private sealed class Member(NodeInfo info, long stateChanged)
    {
        public NodeInfo Info { get; set; } = info;

        public int Index { get; set; }

        public long StateChanged { get; set; } = stateChanged;

        public Suspicion? Suspicion { get; set; }
    }
}
