namespace StemeDb.Cluster.Membership;

/// <summary>The state changes published on the Dapr topic <c>membership</c>.</summary>
public enum MembershipEventKind
{
    Joined,
    Suspect,
    Alive,
    Dead,
    Left,
}

/// <summary>One state change of a member, as this node saw it, at this node's time.</summary>
public sealed record MembershipEvent(MembershipEventKind Kind, NodeInfo Member, DateTimeOffset At, NodeId ObservedBy);
