using System.Collections.Concurrent;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Hosting;

namespace StemeDb.Gateway;

/// <summary>
/// The gateway's routing cache: the meta-range (merged with the core's rule, so it never goes back) and the
/// member list, both taken from a node at start and refreshed every <see cref="GatewayOptions.RefreshInterval"/>
/// (and from the <c>meta-range</c> and <c>membership</c> topics with Dapr). Nodes that fail a connection are
/// routed around at once; a dead or left event does the same for every range that leads at them.
/// </summary>
public sealed class RoutingTable(GatewayOptions options, IHttpClientFactory http, MembershipEventLog events, TimeProvider time, ILogger<RoutingTable> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<NodeId, MemberDto> _members = new();
    private readonly ConcurrentDictionary<NodeId, DateTimeOffset> _demotedUntil = new();
    private readonly Lock _lock = new();
    private readonly Lock _membersLock = new(); // a member's compare-and-set
    private readonly Random _random = new(); // used by the refresh loop only
    private RangeRouter? _router;

    /// <summary>Null until the first snapshot arrives.</summary>
    public RangeRouter? Router => Volatile.Read(ref _router);

    /// <summary>Ready once it has a real table and a live node to send to.</summary>
    public bool IsReady =>
        Router is { } router &&
        !router.Table.Current.Entries.Any(e => MetaRange.IsPlaceholder(e.Descriptor)) &&
        _members.Values.Any(m => m.State is "alive" or "suspect");

    public IReadOnlyCollection<MemberDto> Members => [.. _members.Values.OrderBy(m => m.Id, StringComparer.Ordinal)];

    /// <summary>Where to call a node: its HTTP address, or <c>http://{app-id}/</c> through the sidecar.</summary>
    public Uri? AddressOf(NodeId node)
    {
        if (!_members.TryGetValue(node, out MemberDto? member))
        {
            return null;
        }

        if (options.Transport == Transport.Dapr)
        {
            return new Uri($"http://{member.AppId}/");
        }

        return Uri.TryCreate(member.HttpAddress, UriKind.Absolute, out Uri? uri) ? uri : null;
    }

    /// <summary>A meta-range topic message: null when taken, else why it can never apply (for the subscription's DROP).</summary>
    public string? Accept(MetaRangeDto? update)
    {
        if (update?.Descriptors is null)
        {
            return "the message has no descriptors";
        }

        try
        {
            Apply(update);
            return null;
        }
        catch (Exception e) when (e is Cluster.Errors.StemeDbClusterException or ArgumentException or FormatException or OverflowException)
        {
            return $"malformed descriptors: {e.Message}";
        }
    }

    /// <summary>Merges descriptors (a snapshot, a topic message, or the body of a 421 answer).</summary>
    public bool Apply(MetaRangeDto snapshot)
    {
        RangeRouter router = EnsureRouter(snapshot.ShardCount);
        if (router.ShardCount != snapshot.ShardCount)
        {
            logger.LogWarning("Ignored a meta-range for {Shards} shards; this cluster has {Ours}", snapshot.ShardCount, router.ShardCount);
            return false;
        }

        return router.Apply(snapshot.Descriptors.Select(d => d.ToDescriptor()));
    }

    public void Apply(IEnumerable<RangeDescriptorDto> descriptors)
    {
        if (Router is { } router)
        {
            router.Apply(descriptors.Select(d => d.ToDescriptor()));
        }
    }

    /// <summary>
    /// A member's state, applied only when newer than what is known (<see cref="MemberDto.Supersedes"/>):
    /// dead and left ones are routed around, alive ones again. Returns whether it was newer; each newer
    /// state is one event of <see cref="MembershipEventLog"/>, whatever brought it (topic, pull, stream).
    /// </summary>
    /// <param name="source">The event that brought it (topic or a node's stream): its observer and time are kept.</param>
    /// <param name="observedBy">The node whose member list brought it (a pull), when no event did.</param>
    public bool Apply(MemberDto member, MembershipEventDto? source = null, string? observedBy = null)
    {
        var id = new NodeId(member.Id);
        // One at a time: the check, the store, the event and the routing change, so two deliveries of
        // different states cannot leave the member list saying one and the router the other, and the
        // events are logged in the order the view changed.
        lock (_membersLock)
        {
            MemberDto? known = _members.GetValueOrDefault(id);
            if (!member.Supersedes(known))
            {
                return false;
            }

            _members[id] = member;
            // The kind by this gateway's own view, as a SWIM member names it: alive after nothing, dead or
            // left is a join; alive after suspect (or a newer incarnation) is alive. One rule whatever the
            // source, so the stream does not depend on which source won the race.
            string kind = member.State != "alive" ? member.State
                : known is null || known.State is "dead" or "left" ? "joined"
                : "alive";
            events.Append(MembershipEventDto.Of(kind, member, source?.ObservedBy ?? observedBy ?? options.EventsObserverId, source?.Time ?? time.GetUtcNow()));
            if (Router is not { } router)
            {
                return true;
            }

            if (member.State is "dead" or "left")
            {
                if (router.MarkDead(id))
                {
                    logger.LogWarning("Routing around {Node}: it is {State} (incarnation {Incarnation})", id, member.State, member.Incarnation);
                }
            }
            else if ((!_demotedUntil.TryGetValue(id, out DateTimeOffset until) || DateTimeOffset.UtcNow >= until) && router.MarkAlive(id))
            {
                _demotedUntil.TryRemove(id, out _);
                logger.LogInformation("Routing to {Node} again", id);
            }

            return true;
        }
    }

    /// <summary>Whether membership says <paramref name="node"/> is alive or suspected (whatever this gateway's own failures with it).</summary>
    public bool IsMember(NodeId node) => _members.TryGetValue(node, out MemberDto? m) && m.State is "alive" or "suspect";

    /// <summary>
    /// A request to <paramref name="node"/> failed from here: route around it for <see cref="DemotionPeriod"/>
    /// at least, even if membership reports it alive meanwhile (the others may reach it; this gateway does
    /// not), then again once membership reports it alive.
    /// </summary>
    public void Demote(NodeId node)
    {
        _demotedUntil[node] = DateTimeOffset.UtcNow + DemotionPeriod;
        if (Router?.MarkDead(node) == true)
        {
            logger.LogWarning("Routing around {Node} for {Period}: a request to it failed", node, DemotionPeriod);
        }
    }

    public TimeSpan DemotionPeriod => options.RefreshInterval * 2 > TimeSpan.FromSeconds(10) ? options.RefreshInterval * 2 : TimeSpan.FromSeconds(10);

    /// <summary>One refresh from a seed or a known live node: the meta-range and the member list.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        List<Uri> sources = [.. _members.Values.Where(m => m.State == "alive").OrderBy(_ => _random.Next()).Select(m => AddressOf(new NodeId(m.Id))).OfType<Uri>()];
        sources.AddRange(options.Seeds.Select(s => options.Transport == Transport.Dapr ? new Uri($"http://{s}/") : new Uri(s)));
        foreach (Uri source in sources)
        {
            try
            {
                HttpClient client = http.CreateClient("nodes");
                MetaRangeDto? snapshot = await client.GetFromJsonAsync<MetaRangeDto>(new Uri(source, InternalRoutes.MetaRange), cancellationToken).ConfigureAwait(false);
                using HttpResponseMessage answer = await client.GetAsync(new Uri(source, InternalRoutes.Members), cancellationToken).ConfigureAwait(false);
                answer.EnsureSuccessStatusCode();
                List<MemberDto>? members = await answer.Content.ReadFromJsonAsync<List<MemberDto>>(cancellationToken).ConfigureAwait(false);
                if (snapshot is null || members is null)
                {
                    continue;
                }

                // The answering node saw these states (every internal answer names its node).
                string? node = answer.Headers.TryGetValues(InternalHeaderNames.Node, out IEnumerable<string>? names) ? names.FirstOrDefault() : null;
                Apply(snapshot);
                foreach (MemberDto member in members)
                {
                    Apply(member, observedBy: node);
                }

                return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or Polly.ExecutionRejectedException)
            {
                // ExecutionRejectedException: the per-request deadline (a hung node).
                logger.LogDebug(e, "Refresh from {Source} failed; trying another node", source);
            }
        }

        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await RefreshAsync(stoppingToken).ConfigureAwait(false))
                {
                    logger.LogWarning("No node answered a routing refresh");
                }

                await Task.Delay(IsReady ? options.RefreshInterval : TimeSpan.FromMilliseconds(250), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The refresh loop must outlive any one failure: if it ended, the host would stop with it.
                logger.LogError(e, "Routing refresh failed; trying again");
                await Task.Delay(options.RefreshInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private RangeRouter EnsureRouter(int shardCount)
    {
        lock (_lock)
        {
            if (_router is null)
            {
                var router = new RangeRouter(MetaRange.Unknown(shardCount));
                foreach (MemberDto dead in _members.Values.Where(m => m.State is "dead" or "left"))
                {
                    router.MarkDead(new NodeId(dead.Id));
                }

                Volatile.Write(ref _router, router);
            }

            return _router;
        }
    }
}
