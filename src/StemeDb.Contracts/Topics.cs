namespace StemeDb.Contracts;

/// <summary>The pub/sub topics of the cluster (Dapr) and the component name <c>dapr init</c> makes.</summary>
public static class Topics
{
    /// <summary>Decided descriptor changes: one message holding every descriptor one change creates.</summary>
    public const string MetaRange = "meta-range";

    /// <summary>Membership events: a member joined, became suspect, alive again, dead, or left.</summary>
    public const string Membership = "membership";

    public const string DefaultPubSub = "pubsub";
}
