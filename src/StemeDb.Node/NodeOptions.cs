using StemeDb.Hosting;

namespace StemeDb.Node;

/// <summary>The node app's own settings (section <c>Node</c>); the cluster core's are under <c>Cluster</c>.</summary>
public sealed class NodeOptions
{
    public const string SectionName = "Node";

    /// <summary>The URL peers and gateways reach this node's HTTP API at (it travels in SWIM metadata).</summary>
    public string HttpAddress { get; set; } = "http://127.0.0.1:5001";

    /// <summary>Dapr app-id; defaults to the node id.</summary>
    public string? AppId { get; set; }

    /// <summary>
    /// The founding members, the same list on every node of a cluster: they replicate the first range.
    /// Empty means this node alone.
    /// </summary>
    public List<string> Genesis { get; set; } = [];

    /// <summary><c>Direct</c> (HTTP to peers' addresses; the default) or <c>Dapr</c> (pub/sub and invocation through the sidecar).</summary>
    public Transport Transport { get; set; } = Transport.Direct;

    /// <summary>
    /// The secret every call to this node's API must carry in <c>X-StemeDb-Cluster-Token</c> (health probes
    /// aside), and that this node sends to its peers. Default none; required when the node listens off
    /// loopback with the direct transport (<see cref="ExposureRules"/>). The same on every node and gateway.
    /// </summary>
    public string? ClusterToken { get; set; }

    /// <summary>The Dapr pub/sub component (the one <c>dapr init</c> makes is called <c>pubsub</c>).</summary>
    public string PubSubName { get; set; } = Contracts.Topics.DefaultPubSub;

    /// <summary>How long a replica has to store a write before it counts as missing for the quorum.</summary>
    public TimeSpan ReplicaTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a majority read waits for the replicas it asked before it asks one more (<see cref="HedgeDelay"/>).
    /// Unset (the default): adaptive, from the latency of recent replica reads. Zero: every replica at once.
    /// </summary>
    public TimeSpan? ReadHedgeDelay { get; set; }

    /// <summary>How often range leaders check for splits, merges and replicas to replace.</summary>
    public TimeSpan RangeCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often range leaders compare range digests with their replicas and repair differences.</summary>
    public TimeSpan AntiEntropyInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the node merges a random peer's meta-range into its own: what repairs a lost or dropped
    /// pub/sub delivery (Dapr gives no delivery guarantee without a dead-letter topic).
    /// </summary>
    public TimeSpan MetaRangePullInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Data of a range this node no longer replicates is dropped once this node has known the decided
    /// change this long (local elapsed time) and nothing was imported into it meanwhile.
    /// </summary>
    public TimeSpan DropGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A replica that promised a change of a range and has not learned the decision this long later
    /// resolves the slot itself (carrying any accepted value, or renewing the range), so a proposer that
    /// died mid-change fences the range for about this long.
    /// </summary>
    public TimeSpan ConsensusRecoveryTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The founding members as node ids, or <paramref name="self"/> alone when none are configured.</summary>
    public IReadOnlyList<Cluster.Membership.NodeId> Founders(Cluster.Membership.NodeId self) =>
        Genesis.Count > 0 ? [.. Genesis.Select(g => new Cluster.Membership.NodeId(g))] : [self];

    /// <param name="seeded">Whether the node joins through seeds (Cluster:Swim:Seeds).</param>
    internal void Validate(List<string> errors, bool seeded = false)
    {
        if (seeded && Genesis.Count == 0)
        {
            // Without the founders this node would make a one-node genesis of its own: another cluster.
            errors.Add(
                $"{SectionName}:Genesis must be set when Cluster:Swim:Seeds are: a joining node names the same founding members, " +
                $"in the same order, as the cluster it joins (for example {SectionName}__Genesis__0=stemedb-node-1, {SectionName}__Genesis__1=stemedb-node-2, ...).");
        }

        if (!Uri.TryCreate(HttpAddress, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"{SectionName}:HttpAddress must be an absolute http(s) URL (was '{HttpAddress}').");
        }

        foreach (string id in Genesis)
        {
            if (!Cluster.Membership.NodeId.IsValid(id, out string? reason))
            {
                errors.Add($"{SectionName}:Genesis: {reason}");
            }
        }

        if (RangeCheckInterval <= TimeSpan.Zero || AntiEntropyInterval <= TimeSpan.Zero || MetaRangePullInterval <= TimeSpan.Zero || DropGrace < TimeSpan.Zero || ConsensusRecoveryTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:RangeCheckInterval, {SectionName}:AntiEntropyInterval, {SectionName}:MetaRangePullInterval and {SectionName}:ConsensusRecoveryTimeout must be positive, {SectionName}:DropGrace not negative.");
        }

        if (Genesis.Distinct(StringComparer.Ordinal).Count() != Genesis.Count)
        {
            errors.Add($"{SectionName}:Genesis lists a node twice.");
        }

        if (ReplicaTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:ReplicaTimeout must be positive (was {ReplicaTimeout}).");
        }

        if (ReadHedgeDelay is { } hedge && (hedge < TimeSpan.Zero || hedge >= ReplicaTimeout))
        {
            errors.Add($"{SectionName}:ReadHedgeDelay must be at least zero and shorter than {SectionName}:ReplicaTimeout ({ReplicaTimeout}), or unset for an adaptive delay (was {hedge}).");
        }
    }
}
