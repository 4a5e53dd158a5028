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
}
