using System.Diagnostics;
using System.Diagnostics.Metrics;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// The node's own metrics and spans (README "Observability" lists them): SWIM (probes, failed probes,
/// suspicions, refutations, deaths, datagrams in, out and dropped by cause, members by state, local health),
/// descriptor consensus (proposals by kind and outcome, duration), ranges (in the table, replicated and led
/// here, bytes stored, this node's request rate), writes and reads (quorum latency by outcome, refusals by
/// cause) and group commit (entries per write, write-and-sync time). Every measurement carries the node
/// id, so several nodes in one process (the embedded cluster) stay apart in one scrape.
/// </summary>
public sealed class NodeTelemetry : IDisposable
{
    public const string Name = "StemeDb.Node";

    private readonly Counter<long> _proposals;
    private readonly Histogram<double> _proposalSeconds;
    private readonly Histogram<double> _writeSeconds;
    private readonly Histogram<double> _readSeconds;
    private readonly Counter<long> _refusals;
    private readonly Counter<long> _replicaAsks;
    private readonly Histogram<long> _commitEntries;
    private readonly Histogram<double> _commitSeconds;
    private readonly KeyValuePair<string, object?> _node;

    public NodeTelemetry(IMeterFactory meters, ClusterNode node, RocksDbAssertionStore store, LoadTracker load)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(store);
        _node = new("stemedb.node", node.Id.Value);
        Meter meter = meters.Create(Name);
        Source = new ActivitySource(Name);
        _proposals = meter.CreateCounter<long>("stemedb.consensus.proposals", "{proposal}", "Descriptor changes proposed by this node, by kind (split, merge, replicate, reorder, renew), cause (the rule that planned it) and outcome (decided, superseded, undecided).");
        _proposalSeconds = meter.CreateHistogram<double>("stemedb.consensus.duration", "s", "Time from proposing a descriptor change to its outcome.");
        _writeSeconds = meter.CreateHistogram<double>("stemedb.write.quorum.duration", "s", "Writes this node coordinated: time to a write quorum, by outcome.");
        _readSeconds = meter.CreateHistogram<double>("stemedb.read.quorum.duration", "s", "Reads this node coordinated: time to a read quorum, by outcome.");
        _refusals = meter.CreateCounter<long>("stemedb.quorum.refusals", "{request}", "Coordinated reads and writes not answered from a majority here, by operation and cause (moved, fenced, no_quorum, store).");
        _replicaAsks = meter.CreateCounter<long>("stemedb.read.replica_asks", "{call}", "Other replicas this node asked for its part of a majority read, by reason: needed (as many as a majority needs), hedge (none answered within the hedge delay), failover (one failed).");
        _commitEntries = meter.CreateHistogram<long>("stemedb.store.commit.entries", "{entry}", "RocksDB batch entries written together by one group commit (one write, one sync).");
        _commitSeconds = meter.CreateHistogram<double>("stemedb.store.commit.duration", "s", "Time of one group commit's write and sync.");
        store.Committed += stats =>
        {
            _commitEntries.Record(stats.Entries, _node);
            _commitSeconds.Record(stats.Duration.TotalSeconds, _node);
        };

        SwimCounter(meter, node, "stemedb.swim.probes", "{probe}", "Probes this member sent.", s => s.Probes);
        SwimCounter(meter, node, "stemedb.swim.probes.failed", "{probe}", "Probes that ended without an ack, direct or indirect.", s => s.FailedProbes);
        SwimCounter(meter, node, "stemedb.swim.suspicions", "{suspicion}", "Members this member marked suspect.", s => s.Suspicions);
        SwimCounter(meter, node, "stemedb.swim.refutations", "{refutation}", "Suspicions of itself this member refuted.", s => s.Refutations);
        SwimCounter(meter, node, "stemedb.swim.deaths", "{death}", "Members this member declared dead.", s => s.DeathsDeclared);
        SwimCounter(meter, node, "stemedb.swim.datagrams.received", "{datagram}", "Datagrams received.", s => s.DatagramsReceived);
        SwimCounter(meter, node, "stemedb.swim.datagrams.sent", "{datagram}", "Datagrams sent.", s => s.DatagramsSent);
        meter.CreateObservableCounter<long>("stemedb.swim.datagrams.dropped", () => Swim(node) is { } s
            ? (IEnumerable<Measurement<long>>)[
                new Measurement<long>(s.DroppedMalformed, _node, new("cause", "malformed")),
                new Measurement<long>(s.DroppedUnauthenticated, _node, new("cause", "unauthenticated")),
                new Measurement<long>(s.DroppedForeignCluster, _node, new("cause", "foreign_cluster")),
            ]
            : [], "{datagram}", "Datagrams dropped, by cause.");
        meter.CreateObservableGauge<int>("stemedb.swim.health", () => Swim(node) is { } s ? [new Measurement<int>(s.HealthScore, _node)] : Array.Empty<Measurement<int>>(), "{score}", "Lifeguard's local health score (0 is healthy; higher stretches probes).");
        meter.CreateObservableGauge<int>("stemedb.swim.members", () => node.IsReady
            ? node.Swim.Members.GroupBy(m => m.State).Select(g => new Measurement<int>(g.Count(), _node, new("state", g.Key.ToString().ToLowerInvariant())))
            : [], "{member}", "Members as this member sees them, by state.");
        meter.CreateObservableGauge<int>("stemedb.ranges", () => Ranges(node), "{range}", "Ranges: in the table, replicated here, led here.");
        meter.CreateObservableGauge<long>("stemedb.store.bytes", () => StoredBytes(store), "By", "Bytes of assertions stored here (the shard sizes the range rules use).");
        meter.CreateObservableGauge<double>("stemedb.range.request_rate", () => LedRanges(node).Select(e => new Measurement<double>(load.Current.Of(e.StartShard, e.EndShard), _node, new("range", e.Descriptor.Id.ToString()))), "{request}/s", "Requests per second of each range this node leads (what load splits and leader balancing read).");
        meter.CreateObservableGauge<long>("stemedb.range.bytes", () => RangeBytes(node, store), "By", "Bytes of each range this node leads.");
        meter.CreateObservableGauge<double>("stemedb.node.request_rate", () => [new Measurement<double>(load.NodeRate, _node)], "{request}/s", "Requests this node coordinated per second, over the load window.");
    }

    /// <summary>The node's spans: quorum writes and reads, proposals.</summary>
    public ActivitySource Source { get; }

    public void Proposed(string kind, string cause, string outcome, TimeSpan took)
    {
        _proposals.Add(1, _node, new("kind", kind), new("cause", cause), new("outcome", outcome));
        _proposalSeconds.Record(took.TotalSeconds, _node, new("kind", kind), new("outcome", outcome));
    }

    public void Wrote(QuorumStatus status, TimeSpan took) => Quorum(_writeSeconds, "write", status, took);

    public void Read(QuorumStatus status, TimeSpan took) => Quorum(_readSeconds, "read", status, took);

    /// <summary>Another replica asked for a majority read: <c>needed</c>, <c>hedge</c> or <c>failover</c>.</summary>
    public void AskedReplica(string reason) => _replicaAsks.Add(1, _node, new("reason", reason));

    public void Dispose() => Source.Dispose();

    private void Quorum(Histogram<double> histogram, string operation, QuorumStatus status, TimeSpan took)
    {
        string outcome = status switch
        {
            QuorumStatus.Ok => "ok",
            QuorumStatus.Moved => "moved",
            QuorumStatus.Fenced => "fenced",
            QuorumStatus.StoreFailed => "store",
            _ => "no_quorum",
        };
        histogram.Record(took.TotalSeconds, _node, new("outcome", outcome));
        if (status != QuorumStatus.Ok)
        {
            _refusals.Add(1, _node, new("operation", operation), new("cause", outcome));
        }
    }

    private IEnumerable<Measurement<long>> RangeBytes(ClusterNode node, RocksDbAssertionStore store)
    {
        ShardSizes sizes = store.Sizes();
        return [.. LedRanges(node).Select(e => new Measurement<long>(sizes.Of(e.StartShard, e.EndShard), _node, new("range", e.Descriptor.Id.ToString())))];
    }

    // From the store's prefix sums of its shard sizes, the same numbers the range rules use.
    private IEnumerable<Measurement<long>> StoredBytes(RocksDbAssertionStore store)
    {
        ShardSizes sizes = store.Sizes();
        return [new Measurement<long>(sizes.Of(0, sizes.ShardCount), _node)];
    }

    private static IEnumerable<MetaRangeEntry> LedRanges(ClusterNode node) =>
        node.Table.Current.Entries.Where(e => node.Router.RouteShard(e.StartShard) is { HasLiveReplica: true } route && route.Leader == node.Id);

    private IEnumerable<Measurement<int>> Ranges(ClusterNode node)
    {
        var entries = node.Table.Current.Entries;
        return
        [
            new Measurement<int>(entries.Length, _node, new("scope", "table")),
            new Measurement<int>(entries.Count(e => e.Descriptor.Replicas.Contains(node.Id)), _node, new("scope", "replicated")),
            new Measurement<int>(LedRanges(node).Count(), _node, new("scope", "led")),
        ];
    }

    private void SwimCounter(Meter meter, ClusterNode node, string name, string unit, string description, Func<SwimStats, long> read) =>
        meter.CreateObservableCounter<long>(name, () => Swim(node) is { } s ? [new Measurement<long>(read(s), _node)] : Array.Empty<Measurement<long>>(), unit, description);

    private static SwimStats? Swim(ClusterNode node) => node.IsReady ? node.Swim.Stats : null;
}
