using StemeDb.Cluster.Wire;
using StemeDb.Storage.Wire;
using System.Net;
using System.Net.Http.Json;
using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Membership.Transport;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

namespace StemeDb.Node;

/// <summary>
/// This node's place in the cluster: SWIM membership (its HTTP address travels in the metadata), the
/// meta-range and a router over it that follows membership, and the hybrid logical clock. With the direct
/// adapter, meta-range updates are sent to every member and a random peer's table is pulled now and then
/// (anti-entropy), so a lost update is repaired.
/// </summary>
public sealed class ClusterNode : IHostedService, IAsyncDisposable
{
    private readonly ClusterConfig _config;
    private readonly NodeOptions _options;
    private readonly TimeProvider _time;
    private readonly IHttpClientFactory _http;
    private readonly IClusterBus _bus;
    private readonly ILogger<ClusterNode> _logger;
    private readonly ILoggerFactory _loggers;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Random _random = new(); // used by the anti-entropy loop only
    private SwimMembership? _swim;
    private Task? _background;
    private volatile bool _ready;

    public ClusterNode(ClusterConfig config, NodeOptions options, TimeProvider time, IHttpClientFactory http, IClusterBus bus, ILoggerFactory loggers)
    {
        _bus = bus;
        _config = config;
        _options = options;
        _time = time;
        _http = http;
        _loggers = loggers;
        _logger = loggers.CreateLogger<ClusterNode>();
        Id = config.Node;
        Clock = new HybridLogicalClock(time, config.Sharding.MaxClockOffset);
        NodeId[] genesis = options.Genesis.Count > 0 ? [.. options.Genesis.Select(g => new NodeId(g))] : [Id];
        Table = new MetaRange(config.Sharding.ShardCount, MetaRange.GenesisDescriptor(config.Sharding.ShardCount, genesis.Take(config.Sharding.ReplicationFactor), genesis[0]));
        Router = new RangeRouter(Table);
    }

    public NodeId Id { get; }

    public MetaRange Table { get; }

    public RangeRouter Router { get; }

    public HybridLogicalClock Clock { get; }

    public bool IsReady => _ready;

    public SwimMembership Swim => _swim ?? throw new InvalidOperationException("The node has not started.");

    /// <summary>The HTTP address of a member, from its SWIM metadata; null when unknown or gone.</summary>
    public Uri? AddressOf(NodeId node)
    {
        NodeInfo? info = _swim?.Find(node);
        return info is { IsActive: true } ? _bus.AddressOf(info) : null;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        SwimConfig swim = _config.Swim;
        IPAddress bind = IPAddress.Parse(swim.BindAddress);
        IPAddress? advertise = swim.AdvertiseAddress is null ? null : IPAddress.Parse(swim.AdvertiseAddress);
        var transport = new UdpSwimTransport(new IPEndPoint(bind, swim.BindPort), advertise, _loggers.CreateLogger<UdpSwimTransport>());
        var local = new LocalMember(Id, _options.AppId ?? Id.Value, _options.HttpAddress);
        _swim = new SwimMembership(swim, local, transport, Keyring.FromBase64(swim.Keys), _time, logger: _loggers.CreateLogger<SwimMembership>());
        _swim.Changed += OnMembershipChanged;
        _swim.Start();
        _logger.LogInformation("Node {Node} serves HTTP at {Http}, SWIM at {Swim}", Id, _options.HttpAddress, _swim.Self.SwimAddress);

        IPEndPoint[] seeds = await ResolveSeedsAsync(swim.Seeds, cancellationToken).ConfigureAwait(false);
        if (seeds.Length > 0)
        {
            await _swim.JoinAsync(seeds, cancellationToken).ConfigureAwait(false);
            try
            {
                await PullMetaRangeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                // Not fatal: the anti-entropy loop pulls again every few seconds.
                _logger.LogWarning(e, "Could not fetch the meta-range from a peer at start; retrying in the background");
            }
        }

        _ready = true;
        _background = Task.Run(() => AntiEntropyLoop(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _ready = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_background is not null)
        {
            await _background.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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

    /// <summary>Applies an update here and tells the others (best effort; anti-entropy repairs a loss).</summary>
    public async Task PublishAsync(MetaRangeUpdate update, CancellationToken cancellationToken)
    {
        Router.Apply(update);
        var body = new MetaRangeDto(Table.ShardCount, [.. update.Descriptors.Select(RangeDescriptorDto.From)]);
        try
        {
            await _bus.PublishMetaRangeAsync(body, [.. Swim.ActiveMembers.Where(m => m.Id != Id)], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Dapr.DaprException or HttpRequestException)
        {
            _logger.LogWarning(e, "Publishing a meta-range update failed; anti-entropy will spread it");
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

    private async Task AntiEntropyLoop(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.MetaRangePullInterval, _time, cancellationToken).ConfigureAwait(false);
                await PullMetaRangeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidOperationException or System.Text.Json.JsonException)
            {
                // A peer that hangs (HttpClient timeout) or fails: the next round asks another.
                _logger.LogDebug(e, "Meta-range anti-entropy round failed");
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Meta-range anti-entropy round failed unexpectedly; trying again next round");
            }
        }
    }

    /// <summary>Merges the meta-range of a random active peer into ours.</summary>
    private async Task PullMetaRangeAsync(CancellationToken cancellationToken)
    {
        NodeInfo[] peers = [.. Swim.ActiveMembers.Where(m => m.Id != Id)];
        if (peers.Length == 0)
        {
            return;
        }

        NodeInfo peer = peers[_random.Next(peers.Length)];
        if (_bus.AddressOf(peer) is not { } address)
        {
            return;
        }

        MetaRangeDto? snapshot = await _http.CreateClient("peers").GetFromJsonAsync<MetaRangeDto>(new Uri(address, "/internal/v1/meta-range"), cancellationToken).ConfigureAwait(false);
        if (snapshot is not null && snapshot.ShardCount == Table.ShardCount && Router.Apply(snapshot.Descriptors.Select(d => d.ToDescriptor())))
        {
            _logger.LogInformation("Meta-range updated from {Node}", peer.Id);
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
}
