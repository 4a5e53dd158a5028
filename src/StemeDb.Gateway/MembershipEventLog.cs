using System.Threading.Channels;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway;

/// <summary>
/// The gateway's membership events, for <c>/v1/cluster/events</c>: every change to its member view (from
/// the topic, a pull or a node's stream: <see cref="RoutingTable.Apply(MemberDto, MembershipEventDto?, string?)"/>
/// returning true) becomes one event with the next sequence number. The view only takes what supersedes
/// it, so a key never enters twice: the log is deduplicated by construction. Recent events are kept in a
/// bounded ring for resumption; each subscriber has a bounded queue, and one that is full is cut off
/// (its queue completed with <see cref="SlowSubscriberException"/>) instead of slowing the gateway.
/// </summary>
public sealed class MembershipEventLog
{
    private readonly Lock _lock = new();
    private readonly Queue<(ulong Seq, MembershipEventDto Event)> _ring = new();
    private readonly Dictionary<string, (ulong Seq, MembershipEventDto Event)> _latest = new(StringComparer.Ordinal);
    private readonly List<Subscriber> _subscribers = [];
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private ulong _head;

    public MembershipEventLog(GatewayOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        // Ids start at this process's start in microseconds since the epoch, not at 0: an id a client got
        // from a gateway process before a restart is then below everything retained, and it gets the view
        // again instead of a partial replay of an unrelated numbering.
        _head = (ulong)time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
    }

    /// <summary>The sequence number of the newest event (the start value before the first).</summary>
    public ulong Head
    {
        get
        {
            lock (_lock)
            {
                return _head;
            }
        }
    }

    /// <summary>The streams subscribed now (a cut-off one no longer counts).</summary>
    internal int Subscribers
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    /// <summary>Records one change of the view and hands it to every subscriber; never blocks.</summary>
    public ulong Append(MembershipEventDto change)
    {
        ArgumentNullException.ThrowIfNull(change);
        List<Subscriber>? cutOff = null;
        ulong seq;
        lock (_lock)
        {
            seq = ++_head;
            _ring.Enqueue((seq, change));
            while (_ring.Count > _options.EventsRetained)
            {
                _ring.Dequeue();
            }

            _latest[change.MemberId] = (seq, change);
            for (int i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!_subscribers[i].Queue.Writer.TryWrite((seq, change)))
                {
                    cutOff ??= [];
                    cutOff.Add(_subscribers[i]);
                    _subscribers.RemoveAt(i);
                }
            }
        }

        // Outside the lock: cancelling runs the stream's pending write's callbacks.
        foreach (Subscriber slow in cutOff ?? [])
        {
            slow.Queue.Writer.TryComplete(new SlowSubscriberException());
            _ = slow.CutOff.CancelAsync();
        }

        return seq;
    }

    /// <summary>
    /// A new subscriber: what it must be sent first, then its queue of changes, taken atomically so that
    /// nothing falls between them. After <paramref name="lastEventId"/> when every event after it is
    /// still retained; otherwise (no id, an id older than the ring, an id this process never issued) the
    /// current view: one event per member, kind = its state, observed by this gateway, each with the
    /// sequence number of the change that set it (so the ids still increase and resuming after any of them
    /// misses nothing).
    /// </summary>
    public Subscription Subscribe(ulong? lastEventId)
    {
        var subscriber = new Subscriber(Channel.CreateBounded<(ulong, MembershipEventDto)>(new BoundedChannelOptions(_options.EventsClientBuffer)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: that is the cut-off signal
            SingleReader = true,
            SingleWriter = true,
        }));
        lock (_lock)
        {
            ulong oldestRetained = _ring.Count > 0 ? _ring.Peek().Seq : _head + 1;
            bool resumable = lastEventId is { } last && last <= _head && last + 1 >= oldestRetained;
            List<(ulong, MembershipEventDto)> first = resumable
                ? [.. _ring.Where(e => e.Seq > lastEventId!.Value)]
                : [.. _latest.Values.OrderBy(e => e.Seq).Select(e => (e.Seq, AsView(e.Event)))];
            _subscribers.Add(subscriber);
            return new Subscription(first, subscriber.Queue.Reader, subscriber.CutOff.Token, resumable, () => Unsubscribe(subscriber));
        }
    }

    private MembershipEventDto AsView(MembershipEventDto change) =>
        change with { Kind = change.State, ObservedBy = _options.EventsObserverId, Time = _time.GetUtcNow() };

    private void Unsubscribe(Subscriber subscriber)
    {
        lock (_lock)
        {
            _subscribers.Remove(subscriber);
        }

        subscriber.Queue.Writer.TryComplete();
        subscriber.CutOff.Dispose();
    }

    private sealed record Subscriber(Channel<(ulong, MembershipEventDto)> Queue)
    {
        public CancellationTokenSource CutOff { get; } = new();
    }

    /// <summary>What one stream sends first, then its queue; dispose to leave.</summary>
    public sealed class Subscription(List<(ulong Seq, MembershipEventDto Event)> first, ChannelReader<(ulong Seq, MembershipEventDto Event)> changes, CancellationToken cutOff, bool resumed, Action leave) : IDisposable
    {
        public IReadOnlyList<(ulong Seq, MembershipEventDto Event)> First { get; } = first;

        public ChannelReader<(ulong Seq, MembershipEventDto Event)> Changes { get; } = changes;

        /// <summary>Cancelled when the client fell too far behind: its pending write must give up.</summary>
        public CancellationToken CutOff { get; } = cutOff;

        /// <summary>Whether <see cref="First"/> is a resumption after the client's id (else the current view).</summary>
        public bool Resumed { get; } = resumed;

        public void Dispose() => leave();
    }
}
