using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text.Json;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Contracts.Wire;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// How this node's meta-range learns and spreads decided descriptors. <see cref="Apply"/> is the one path by
/// which any descriptor enters the table (a publication, a pull, a 421 body, a request's descriptors, the
/// store at start): it merges last-writer-wins, keeps the winners in the store (so a restarted node never
/// serves an older generation than it knew) and notes when this node learned each one (drop grace and merge
/// cool-down count local time since then, never the proposer's clock). Decided changes are published on
/// the bus and sent straight to the replicas involved; a random peer's table is pulled every
/// <see cref="NodeOptions.MetaRangePullInterval"/> to repair a lost publication.
/// </summary>
public sealed class MetaRangeSync : BackgroundService
{
    private readonly ClusterNode _node;
    private readonly RocksDbAssertionStore _store;
    private readonly IClusterBus _bus;
    private readonly PeerClient _peers;
    private readonly NodeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MetaRangeSync> _logger;
    private readonly Lock _applyLock = new();
    private readonly ConcurrentDictionary<RangeDescriptor, long> _learned = new();
    private readonly long _started;
    private readonly Random _random = new(); // the pull loop's only

    public MetaRangeSync(ClusterNode node, RocksDbAssertionStore store, IClusterBus bus, PeerClient peers, NodeOptions options, TimeProvider time, ILogger<MetaRangeSync> logger)
    {
        _node = node;
        _store = store;
        _bus = bus;
        _peers = peers;
        _options = options;
        _time = time;
        _logger = logger;
        _started = time.GetTimestamp();
        var stored = new List<RangeDescriptor>();
        foreach ((byte[] _, byte[] value) in store.ScanMeta(MetaKind.Descriptor))
        {
            if (JsonSerializer.Deserialize<RangeDescriptorDto>(value, JsonSerializerOptions.Web) is { } dto)
            {
                stored.Add(dto.ToDescriptor());
            }
        }

        if (stored.Count > 0)
        {
            node.Router.Apply(stored);
            logger.LogInformation("Meta-range: {Count} descriptors from the store", node.Table.Current.Entries.Length);
        }
    }

    /// <summary>How long ago this node learned <paramref name="descriptor"/> (the process start for what it knew then).</summary>
    public TimeSpan AgeOf(RangeDescriptor descriptor) =>
        _time.GetElapsedTime(_learned.TryGetValue(descriptor, out long at) ? at : _started);

    /// <summary>Merges decided descriptors into the table; true when it changed. The only way in.</summary>
    public bool Apply(IEnumerable<RangeDescriptor> descriptors, string source)
    {
        RangeDescriptor[] batch = [.. descriptors];
        if (batch.Length == 0)
        {
            return false;
        }

        lock (_applyLock)
        {
            MetaRangeSnapshot before = _node.Table.Current;
            if (!_node.Router.Apply(batch))
            {
                return false;
            }

            MetaRangeSnapshot after = _node.Table.Current;
            var was = new HashSet<RangeDescriptor>(before.Descriptors());
            var now = new HashSet<RangeDescriptor>(after.Descriptors());
            long learned = _time.GetTimestamp();
            foreach (RangeDescriptor d in now.Where(d => !was.Contains(d)))
            {
                _learned[d] = learned;
                _store.PutMeta(MetaKind.Descriptor, Key(d), JsonSerializer.SerializeToUtf8Bytes(RangeDescriptorDto.From(d), JsonSerializerOptions.Web));
                _logger.LogInformation("Meta-range: learned {Descriptor} from {Source}", d, source);
            }

            foreach (RangeDescriptor d in was.Where(d => !now.Contains(d)))
            {
                _learned.TryRemove(d, out _);
                if (!_node.Genesis.Contains(d))
                {
                    _store.DeleteMeta(MetaKind.Descriptor, Key(d));
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Checks a meta-range message (another cluster's or a clock too far ahead is refused) and applies it.
    /// Null when taken (applied or not new), else why it was refused.
    /// </summary>
    public string? Accept(MetaRangeDto? message, string source)
    {
        if (message?.Descriptors is null)
        {
            return "the message has no descriptors";
        }

        if (message.ShardCount != _node.Table.ShardCount)
        {
            return $"it is for {message.ShardCount} shards; this cluster has {_node.Table.ShardCount}";
        }

        if (message.ClusterId is { } cluster && cluster != _node.ClusterId.ToString())
        {
            return $"it is from cluster {cluster}; this node is of cluster {_node.ClusterId}";
        }

        if (message.Hlc is { } hlc && !_node.ObservePeerClock(HlcTimestamp.FromPacked(hlc), source))
        {
            return "the sender's clock is too far ahead";
        }

        try
        {
            Apply(message.Descriptors.Select(d => d.ToDescriptor()), source);
            return null;
        }
        catch (Exception e) when (e is StemeDbClusterException or ArgumentException or FormatException or OverflowException)
        {
            return $"malformed descriptors: {e.Message}";
        }
    }

    /// <summary>This node's table as a message.</summary>
    public MetaRangeDto Snapshot() => Message(_node.Table.Current.Descriptors());

    /// <summary>
    /// Applies decided descriptors here and tells the others: on the bus (a topic with Dapr; with the direct
    /// adapter a post to every member), and straight to <paramref name="involved"/> (the replicas of the
    /// range before and after), which must stop serving the old generation soonest.
    /// </summary>
    public async Task PublishAsync(IReadOnlyCollection<RangeDescriptor> decided, IEnumerable<NodeId> involved, CancellationToken cancellationToken)
    {
        if (decided.Count == 0)
        {
            return;
        }

        Apply(decided, "this node's decision");
        MetaRangeDto message = Message(decided);
        HashSet<NodeId> direct = [.. involved.Where(n => n != _node.Id)];
        try
        {
            if (!await _bus.PublishMetaRangeAsync(message, cancellationToken).ConfigureAwait(false))
            {
                direct.UnionWith(_node.Swim.ActiveMembers.Select(m => m.Id).Where(n => n != _node.Id));
            }
        }
        catch (Exception e) when (e is Dapr.DaprException or HttpRequestException)
        {
            _logger.LogWarning(e, "Publishing a meta-range update failed; the periodic pull will spread it");
        }

        await Task.WhenAll(direct.Select(async n =>
        {
            PeerResult<bool> sent = await _peers.PostMetaRangeAsync(n, message, cancellationToken).ConfigureAwait(false);
            if (!sent.IsOk)
            {
                _logger.LogDebug("Meta-range update to {Node} failed ({Error}); the periodic pull will repair it", n, sent.Error);
            }
        })).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // A joining node asks a peer for the table before it says it is ready.
            for (int attempt = 0; attempt < 3 && _node.Swim.ActiveMemberCount > 1; attempt++)
            {
                if (await PullAsync(stoppingToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        _node.MarkReady();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.MetaRangePullInterval, _time, stoppingToken).ConfigureAwait(false);
                await PullAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The pull loop must outlive any failure: a lost publication is repaired only here.
                _logger.LogError(e, "Meta-range pull failed unexpectedly; trying again next round");
            }
        }
    }

    /// <summary>Merges the table of a random active peer into ours; false when none answered.</summary>
    private async Task<bool> PullAsync(CancellationToken cancellationToken)
    {
        NodeInfo[] peers = [.. _node.Swim.ActiveMembers.Where(m => m.Id != _node.Id)];
        if (peers.Length == 0)
        {
            return false;
        }

        NodeId peer = peers[_random.Next(peers.Length)].Id;
        PeerResult<MetaRangeDto> table = await _peers.GetMetaRangeAsync(peer, cancellationToken).ConfigureAwait(false);
        if (!table.IsOk)
        {
            _logger.LogDebug("Meta-range pull from {Node} failed: {Error}", peer, table.Error);
            return false;
        }

        if (Accept(table.Value, peer.Value) is { } refused)
        {
            _logger.LogWarning("Refused the meta-range of {Node}: {Reason}", peer, refused);
            return false;
        }

        return true;
    }

    private MetaRangeDto Message(IEnumerable<RangeDescriptor> descriptors) =>
        new(_node.Table.ShardCount, [.. descriptors.Select(RangeDescriptorDto.From)], _node.ClusterId.ToString(), _node.Clock.Now().Packed);

    private static byte[] Key(RangeDescriptor d)
    {
        byte[] key = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(key, d.Id.Value);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), d.Generation);
        return key;
    }
}
