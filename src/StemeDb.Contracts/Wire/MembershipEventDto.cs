using System.Text.Json.Serialization;
using StemeDb.Cluster.Membership;

namespace StemeDb.Contracts.Wire;

/// <summary>
/// One membership change: the <c>data</c> of a CloudEvent on the topic <c>membership</c> (Dapr) and of a
/// server-sent event at <c>/v1/cluster/events</c> (the gateway). Flat, so a subscriber in any language
/// reads it without our types. README "Membership events" documents it with its JSON schema.
/// </summary>
/// <param name="Key">
/// The same for the same change seen by different observers: <c>{memberId}@{incarnation}/{state}</c>
/// (<see cref="KeyOf"/>). Only a member raises its incarnation, so (member, incarnation, state) names one
/// change wherever it was seen; a subscriber keeps the first event of a key and drops the rest.
/// </param>
/// <param name="Kind"><c>joined</c>, <c>suspect</c>, <c>alive</c>, <c>dead</c> or <c>left</c> (<see cref="MembershipEventTypes"/>).
/// <c>joined</c> and <c>alive</c> both mean state <c>alive</c>: which one an observer reports depends on whether it knew the member before.</param>
/// <param name="State">The member's state after the change: <c>alive</c>, <c>suspect</c>, <c>dead</c> or <c>left</c>.</param>
/// <param name="Incarnation">The member's incarnation: apply events by it (<see cref="MemberDto.Supersedes"/>), never by arrival.</param>
/// <param name="ObservedBy">The node that saw the change (a gateway's own view for the current-view events it replays).</param>
/// <param name="Time">When the observer saw it, by the observer's clock.</param>
public sealed record MembershipEventDto(
    string Key,
    string Kind,
    string MemberId,
    string AppId,
    string HttpAddress,
    string SwimAddress,
    string State,
    uint Incarnation,
    string ObservedBy,
    DateTimeOffset Time)
{
    /// <summary>The CloudEvent <c>type</c> of this change, e.g. <c>io.stemedb.membership.dead</c>.</summary>
    [JsonIgnore]
    public string Type => MembershipEventTypes.Of(Kind);

    /// <summary>The member as this event leaves it, for a member view applied by <see cref="MemberDto.Supersedes"/>.</summary>
    [JsonIgnore]
    public MemberDto Member => new(MemberId, AppId, HttpAddress, SwimAddress, State, Incarnation);

    public static string KeyOf(MemberDto member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return $"{member.Id}@{member.Incarnation}/{member.State}";
    }

    public static MembershipEventDto Of(string kind, MemberDto member, string observedBy, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(member);
        return new(KeyOf(member), kind, member.Id, member.AppId, member.HttpAddress, member.SwimAddress, member.State, member.Incarnation, observedBy, time);
    }

    public static MembershipEventDto From(MembershipEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        MemberDto member = MemberDto.From(e.Member);
        string kind = e.Kind.ToString().ToLowerInvariant();
        // A left member's SWIM state is dead-by-leave; the event says left, and so does its state.
        if (e.Kind == MembershipEventKind.Left)
        {
            member = member with { State = "left" };
        }
        else if (e.Kind is MembershipEventKind.Joined or MembershipEventKind.Alive)
        {
            member = member with { State = "alive" };
        }

        return Of(kind, member, e.ObservedBy.Value, e.At);
    }
}

/// <summary>The CloudEvent <c>type</c> values of membership events, one per kind of change.</summary>
public static class MembershipEventTypes
{
    public const string Prefix = "io.stemedb.membership.";
    public const string Joined = Prefix + "joined";
    public const string Suspect = Prefix + "suspect";
    public const string Alive = Prefix + "alive";
    public const string Dead = Prefix + "dead";
    public const string Left = Prefix + "left";

    public static IReadOnlyList<string> All { get; } = [Joined, Suspect, Alive, Dead, Left];

    public static string Of(string kind) => Prefix + kind;
}
