namespace StemeDb.Contracts;

/// <summary>Headers every call between nodes carries, both ways.</summary>
public static class InternalHeaderNames
{
    /// <summary>The cluster id: a node refuses another cluster's calls (412).</summary>
    public const string Cluster = "X-StemeDb-Cluster";

    /// <summary>The sender's hybrid logical clock (packed), which the receiver observes.</summary>
    public const string Clock = "X-StemeDb-Hlc";

    /// <summary>The node that sent the call or the answer (also on the gateway's answers: the node that served).</summary>
    public const string Node = "X-StemeDb-Node";

    /// <summary>
    /// The cluster token (<c>Node:ClusterToken</c>, <c>Gateway:ClusterToken</c>): when a node has one, every
    /// call to it but the health probes must carry it (401 otherwise). Required off loopback with the direct
    /// transport; with Dapr the sidecar's app token does this job.
    /// </summary>
    public const string ClusterToken = "X-StemeDb-Cluster-Token";
}
