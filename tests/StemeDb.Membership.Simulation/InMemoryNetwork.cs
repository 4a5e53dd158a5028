using System.Net;
using StemeDb.Cluster.Membership.Transport;

namespace StemeDb.Membership.Simulation;

/// <summary>
/// A simulated datagram network driven by a <see cref="TimeProvider"/> (virtual time in tests): per-link
/// loss and delay, partitions, crashed hosts, and paused hosts — a paused host runs neither timers nor
/// receive handlers until it resumes, then runs the timers that fell due and the datagrams that queued
/// up, in that order, as a process does after a long GC pause. Single-threaded by design: everything
/// happens in timer callbacks of the one time provider.
/// </summary>
public sealed class InMemoryNetwork
{
    private const int PausedQueueLimit = 4096; // like a socket receive buffer: the excess is lost

    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Dictionary<IPEndPoint, SimulatedHost> _hosts = [];
    private readonly Dictionary<(IPEndPoint, IPEndPoint), double> _linkLoss = [];
    private HashSet<IPEndPoint>? _partitionSide;

    public InMemoryNetwork(TimeProvider time, int seed)
    {
        _time = time;
        _random = new Random(seed);
    }

    /// <summary>Probability that any datagram is lost.</summary>
    public double Loss { get; set; }

    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(0.2);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    public TimeProvider Time => _time;

    public IReadOnlyCollection<SimulatedHost> Hosts => _hosts.Values;

    public SimulatedHost AddHost(IPEndPoint address)
    {
        var host = new SimulatedHost(this, address);
        _hosts.Add(address, host);
        return host;
    }

    public SimulatedHost Host(IPEndPoint address) => _hosts[address];

    /// <summary>Loss on the directed link <paramref name="from"/> → <paramref name="to"/>, over the network-wide loss.</summary>
    public void SetLinkLoss(IPEndPoint from, IPEndPoint to, double loss) => _linkLoss[(from, to)] = loss;

    /// <summary>Cuts the network in two: <paramref name="side"/> and everyone else.</summary>
    public void Partition(IEnumerable<IPEndPoint> side) => _partitionSide = [.. side];

    public void Heal() => _partitionSide = null;

    internal void Send(SimulatedHost from, IPEndPoint to, ReadOnlyMemory<byte> datagram)
    {
        if (from.Crashed)
        {
            return;
        }

        from.DatagramsSent++;
        from.BytesSent += datagram.Length;
        from.LargestDatagram = Math.Max(from.LargestDatagram, datagram.Length);
        if (_partitionSide is not null && _partitionSide.Contains(from.Address) != _partitionSide.Contains(to))
        {
            return;
        }

        double loss = Loss;
        if (_linkLoss.TryGetValue((from.Address, to), out double link))
        {
            loss = 1 - ((1 - loss) * (1 - link));
        }

        if (loss > 0 && _random.NextDouble() < loss)
        {
            return;
        }

        TimeSpan delay = MinDelay + ((MaxDelay - MinDelay) * _random.NextDouble());
        if (_hosts.TryGetValue(to, out SimulatedHost? target))
        {
            delay += target.ReceiveLag;
        }

        var delivery = new Delivery(this, from.Address, to, datagram.ToArray());
        delivery.Timer = _time.CreateTimer(static s => ((Delivery)s!).Arrive(), delivery, delay, Timeout.InfiniteTimeSpan);
    }

    private sealed class Delivery(InMemoryNetwork network, IPEndPoint from, IPEndPoint to, byte[] datagram)
    {
        public ITimer? Timer { get; set; }

        public void Arrive()
        {
            Timer?.Dispose();
            if (network._hosts.TryGetValue(to, out SimulatedHost? host))
            {
                host.Receive(datagram, from);
            }
        }
    }

    /// <summary>One member's machine: its transport, its clock (which stops while paused) and its counters.</summary>
    public sealed class SimulatedHost : ISwimTransport
    {
        private readonly InMemoryNetwork _network;
        private readonly Queue<(byte[] Datagram, IPEndPoint From)> _queued = new();
        private readonly Queue<Action> _deferred = new();
        private Action<ReadOnlyMemory<byte>, IPEndPoint>? _handler;

        internal SimulatedHost(InMemoryNetwork network, IPEndPoint address)
        {
            _network = network;
            Address = address;
            Clock = new PausableClock(this);
        }

        public IPEndPoint Address { get; }

        public IPEndPoint LocalAddress => Address;

        /// <summary>The time provider to give this host's member: its timers stop while the host is paused.</summary>
        public TimeProvider Clock { get; }

        public bool Paused { get; private set; }

        /// <summary>
        /// Extra time before this host handles each datagram while its timers keep time: an overloaded
        /// process whose receive queue lags (Lifeguard's "message processing delay").
        /// </summary>
        public TimeSpan ReceiveLag { get; set; }

        public bool Crashed { get; private set; }

        public long BytesSent { get; internal set; }

        public long DatagramsSent { get; internal set; }

        public int LargestDatagram { get; internal set; }

        public void Start(Action<ReadOnlyMemory<byte>, IPEndPoint> onDatagram) => _handler = onDatagram;

        public void Send(IPEndPoint to, ReadOnlyMemory<byte> datagram)
        {
            if (!Paused)
            {
                _network.Send(this, to, datagram);
            }
        }

        /// <summary>Stops the host for good, without a word to anyone (kill -9).</summary>
        public void Crash()
        {
            Crashed = true;
            _queued.Clear();
            _deferred.Clear();
        }

        /// <summary>Freezes the host for <paramref name="duration"/>, then resumes it.</summary>
        public void Pause(TimeSpan duration)
        {
            if (Paused || Crashed)
            {
                return;
            }

            Paused = true;
            ITimer? resume = null;
            resume = _network._time.CreateTimer(
                _ =>
                {
                    resume?.Dispose();
                    Resume();
                },
                null,
                duration,
                Timeout.InfiniteTimeSpan);
        }

        public ValueTask DisposeAsync()
        {
            Crash();
            return ValueTask.CompletedTask;
        }

        internal void Receive(byte[] datagram, IPEndPoint from)
        {
            if (Crashed || _handler is null)
            {
                return;
            }

            if (Paused)
            {
                if (_queued.Count < PausedQueueLimit)
                {
                    _queued.Enqueue((datagram, from));
                }

                return;
            }

            _handler(datagram, from);
        }

        private void Resume()
        {
            Paused = false;
            // Timers that fell due during the pause run first, then the datagrams that waited in the buffer.
            while (_deferred.Count > 0 && !Paused && !Crashed)
            {
                _deferred.Dequeue()();
            }

            while (_queued.Count > 0 && !Paused && !Crashed)
            {
                (byte[] datagram, IPEndPoint from) = _queued.Dequeue();
                _handler?.Invoke(datagram, from);
            }
        }

        private void RunOrDefer(Action callback, ref bool pending)
        {
            if (Crashed)
            {
                return;
            }

            if (Paused)
            {
                if (!pending)
                {
                    pending = true;
                    _deferred.Enqueue(callback);
                }

                return;
            }

            callback();
        }

        private sealed class PausableClock(SimulatedHost host) : TimeProvider
        {
            private readonly TimeProvider _inner = host._network._time;

            public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

            public override long GetTimestamp() => _inner.GetTimestamp();

            public override long TimestampFrequency => _inner.TimestampFrequency;

            public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

            public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
            {
                var timer = new PausableTimer(host, callback, state);
                timer.Inner = _inner.CreateTimer(static s => ((PausableTimer)s!).Fire(), timer, dueTime, period);
                return timer;
            }
        }

        private sealed class PausableTimer(SimulatedHost host, TimerCallback callback, object? state) : ITimer
        {
            private bool _deferred;
            private bool _disposed;

            public ITimer? Inner { get; set; }

            public void Fire() => host.RunOrDefer(Run, ref _deferred);

            public bool Change(TimeSpan dueTime, TimeSpan period) => !_disposed && Inner!.Change(dueTime, period);

            public void Dispose()
            {
                _disposed = true;
                Inner?.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }

            private void Run()
            {
                _deferred = false;
                if (!_disposed)
                {
                    callback(state);
                }
            }
        }
    }
}
