using System.Net;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Membership.Transport;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// This node's place in the cluster: its identity (node id, cluster id from the genesis), SWIM membership
/// (its HTTP address travels in the metadata), the meta-range and a router over it that follows
/// membership, and the hybrid logical clock (its upper bound kept in the store, so a restart never issues
/// a lower timestamp). Spreading the meta-range is <see cref="MetaRangeSync"/>'s job.
/// </summary>
public sealed class ClusterNode : IHostedService, IAsyncDisposable
{
    private readonly ClusterConfig _config;
    private readonly NodeOptions _options;
    private readonly TimeProvider _time;
    private readonly IClusterBus _bus;
    private readonly ILogger<ClusterNode> _logger;
    private readonly ILoggerFactory _loggers;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<NodeId, long> _skewLogged = [];
    private SwimMembership? _swim;
    private Task? _ceilingLoop;
    private volatile bool _ready;
    private long _clockRefusals;

    public ClusterNode(ClusterConfig config, NodeOptions options, TimeProvider time, IClusterBus bus, RocksDbAssertionStore store, ILoggerFactory loggers)
    {
        _bus = bus;
        _config = config;
        _options = options;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<ClusterNode>();
        Id = config.Node;
        Founders = options.Founders(Id);
        ClusterId = ClusterId.Of(config, Founders);
        Clock = new HybridLogicalClock(time, config.Sharding.MaxClockOffset, new StoreClockCeiling(store));
        Genesis = GenesisTable.Create(config.Sharding.ShardCount, Founders, config.Sharding.ReplicationFactor, config.Sharding.InitialRanges);
        Table = new MetaRange(config.Sharding.ShardCount, Genesis);
        Router = new RangeRouter(Table);
    }

    public NodeId Id { get; }

    /// <summary>The founding members (<c>Node:Genesis</c>, or this node alone), in order.</summary>
    public IReadOnlyList<NodeId> Founders { get; }

    public ClusterId ClusterId { get; }

    /// <summary>The table this cluster started from (pre-split, see <see cref="GenesisTable"/>).</summary>
    public System.Collections.Immutable.ImmutableArray<RangeDescriptor> Genesis { get; }

    public MetaRange Table { get; }

    public RangeRouter Router { get; }

    public HybridLogicalClock Clock { get; }

    public TimeProvider Time => _time;

    public bool IsReady => _ready;

    /// <summary>Messages refused because the sender's clock was further ahead than the maximum offset.</summary>
    public long ClockRefusals => Interlocked.Read(ref _clockRefusals);

    public SwimMembership Swim => _swim ?? throw new InvalidOperationException("The node has not started.");

    /// <summary>The HTTP address of a member, from its SWIM metadata; null when unknown or gone.</summary>
    public Uri? AddressOf(NodeId node)
    {
        NodeInfo? info = _swim?.Find(node);
        return info is { IsActive: true } ? _bus.AddressOf(info) : null;
    }

    /// <summary>Whether SWIM takes <paramref name="node"/> for alive or suspected.</summary>
    public bool IsActive(NodeId node) => node == Id || _swim?.Find(node) is { IsActive: true };

    /// <summary>
    /// Observes a peer's clock reading. False, counted and logged (once a minute per peer), when it is
    /// further ahead than <c>Cluster:Sharding:MaxClockOffset</c>: the message must then be refused.
    /// </summary>
    public bool ObservePeerClock(HlcTimestamp remote, string peer)
    {
        if (Clock.TryUpdate(remote, out _))
        {
            return true;
        }

        Interlocked.Increment(ref _clockRefusals);
        long now = _time.GetTimestamp();
        var key = NodeId.IsValid(peer, out _) ? new NodeId(peer) : new NodeId("unknown");
        bool log;
        lock (_skewLogged)
        {
            log = !_skewLogged.TryGetValue(key, out long last) || _time.GetElapsedTime(last, now) > TimeSpan.FromMinutes(1);
            if (log)
            {
                _skewLogged[key] = now;
            }
        }

        if (log)
        {
            _logger.LogError(
                "Refused a message from {Peer}: its clock reads {Remote}, more than {Offset} ahead of this node's ({Local}); check the clocks (NTP) of both",
                peer, remote.ToDateTimeOffset(), _config.Sharding.MaxClockOffset, _time.GetUtcNow());
        }

        return false;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await WaitForClockAsync(cancellationToken).ConfigureAwait(false);
        SwimConfig swim = _config.Swim;
        IPAddress bind = IPAddress.Parse(swim.BindAddress);
        IPAddress? advertise = swim.AdvertiseAddress is null ? null : IPAddress.Parse(swim.AdvertiseAddress);
        var transport = new UdpSwimTransport(new IPEndPoint(bind, swim.BindPort), advertise, _loggers.CreateLogger<UdpSwimTransport>());
        var local = new LocalMember(Id, _options.AppId ?? Id.Value, _options.HttpAddress);
        _swim = new SwimMembership(swim, local, transport, Keyring.FromBase64(swim.Keys), _time, logger: _loggers.CreateLogger<SwimMembership>(), cluster: ClusterId);
        _swim.Changed += OnMembershipChanged;
        _swim.Start();
        _logger.LogInformation("Node {Node} of cluster {Cluster} serves HTTP at {Http}, SWIM at {Swim}", Id, ClusterId, _options.HttpAddress, _swim.Self.SwimAddress);

        IPEndPoint[] seeds = await ResolveSeedsAsync(swim.Seeds, cancellationToken).ConfigureAwait(false);
        if (seeds.Length > 0)
        {
            await _swim.JoinAsync(seeds, cancellationToken).ConfigureAwait(false);
        }

        _ceilingLoop = Task.Run(() => ExtendCeilingLoop(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Set once the meta-range has been fetched from a peer (or there is none to ask).</summary>
    internal void MarkReady() => _ready = true;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _ready = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_ceilingLoop is not null)
        {
            await _ceilingLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_swim is not null)
        {
            try
            {
                await _swim.LeaveAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _logger.LogWarning("Shutdown did not wait for the leave message to spread; the others will find this node dead instead of left");
            }
        }
    }

    /// <summary>Stops SWIM at once, without a goodbye, as a killed process would (fault-injection tests).</summary>
    internal async Task AbortMembershipAsync()
    {
        _ready = false;
        if (_swim is not null)
        {
            await _swim.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_swim is not null)
        {
            await _swim.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>
    /// After a restart with the clock set back, waits (up to 10 s) until physical time passes what the
    /// clock may have issued before: peers would refuse timestamps that far ahead. The clock itself never
    /// goes back either way.
    /// </summary>
    private async Task WaitForClockAsync(CancellationToken cancellationToken)
    {
        TimeSpan behind = Clock.BehindCeiling;
        if (behind <= TimeSpan.Zero)
        {
            return;
        }

        if (behind > TimeSpan.FromSeconds(10))
        {
            _logger.LogError("The clock is {Behind} behind what this node issued before it restarted; it starts anyway, above that, and peers will refuse it until the clocks agree", behind);
            return;
        }

        _logger.LogWarning("The clock is {Behind} behind what this node issued before it restarted; waiting that long before joining", behind);
        await Task.Delay(behind, _time, cancellationToken).ConfigureAwait(false);
    }

    private async Task ExtendCeilingLoop(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Clock.ExtendCeiling();
                await Task.Delay(TimeSpan.FromMilliseconds(250), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (StorageException e)
            {
                // The write path stores the bound itself when it must; this loop only saves it the wait.
                _logger.LogWarning(e, "Could not store the clock's upper bound; retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void OnMembershipChanged(MembershipEvent e)
    {
        _ = _bus.PublishMembershipAsync(e, _stopping.Token); // logs its own failures; never blocks SWIM
        switch (e.Kind)
        {
            case MembershipEventKind.Dead or MembershipEventKind.Left:
                Router.MarkDead(e.Member.Id);
                _logger.LogWarning("Routing around {Node}: it is {State}", e.Member.Id, e.Kind);
                break;
            case MembershipEventKind.Joined or MembershipEventKind.Alive:
                if (Router.MarkAlive(e.Member.Id))
                {
                    _logger.LogInformation("Routing to {Node} again", e.Member.Id);
                }

                break;
        }
    }

    private static async Task<IPEndPoint[]> ResolveSeedsAsync(IEnumerable<string> seeds, CancellationToken cancellationToken)
    {
        var result = new List<IPEndPoint>();
        foreach (string seed in seeds)
        {
            int colon = seed.LastIndexOf(':');
            string host = seed[..colon];
            int port = int.Parse(seed.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture);
            IPAddress[] addresses = IPAddress.TryParse(host, out IPAddress? ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            result.AddRange(addresses.Take(1).Select(a => new IPEndPoint(a, port)));
        }

        return [.. result];
    }

    /// <summary>The clock's upper bound in the node's store (one synced write per second at most).</summary>
    private sealed class StoreClockCeiling(RocksDbAssertionStore store) : IClockCeiling
    {
        public long Load() => store.GetMeta(MetaKind.Clock, []) is { Length: 8 } value ? BitConverter.ToInt64(value) : 0;

        public void Store(long wallMilliseconds) => store.PutMeta(MetaKind.Clock, [], BitConverter.GetBytes(wallMilliseconds));
    }
}
