using StemeDb.Cluster.Membership;

namespace StemeDb.Contracts.Wire;

// The JSON forms of members and membership events.

public sealed record MemberDto(string Id, string AppId, string HttpAddress, string SwimAddress, string State, uint Incarnation)
{
    public static MemberDto From(NodeInfo n) => new(n.Id.Value, n.AppId, n.HttpAddress, n.SwimAddress.ToString(), n.State.ToString().ToLowerInvariant(), n.Incarnation);
}

/// <summary>A membership event as published on the topic <c>membership</c>.</summary>
public sealed record MembershipEventDto(string Kind, MemberDto Member, DateTimeOffset At, string ObservedBy)
{
    public static MembershipEventDto From(MembershipEvent e) =>
        new(e.Kind.ToString().ToLowerInvariant(), MemberDto.From(e.Member), e.At, e.ObservedBy.Value);
}
