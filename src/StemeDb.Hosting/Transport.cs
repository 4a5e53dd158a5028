namespace StemeDb.Hosting;

/// <summary>How an app reaches the others (<c>Node:Transport</c>, <c>Gateway:Transport</c>).</summary>
public enum Transport
{
    /// <summary>HTTP to each node's own address (from SWIM metadata); no topics. The embedded cluster, containers.</summary>
    Direct,

    /// <summary>Service invocation by app-id through the sidecar, and pub/sub topics.</summary>
    Dapr,
}
