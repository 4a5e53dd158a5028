using StemeDb.Cluster.Membership;

namespace StemeDb.Contracts.Wire;

// The JSON forms of members and membership events.

public sealed record MemberDto(string Id, string AppId, string HttpAddress, string SwimAddress, string State, uint Incarnation)
{
    public static MemberDto From(NodeInfo n) => new(n.Id.Value, n.AppId, n.HttpAddress, n.SwimAddress.ToString(), n.State.ToString().ToLowerInvariant(), n.Incarnation);

    /// <summary>
    /// Whether this view of the member is newer than <paramref name="known"/>, by SWIM's rule: a higher
    /// incarnation wins; at the same incarnation a state further along alive, suspect, dead wins (only the
    /// member raises its incarnation, to refute or on restart). Events from several observers, replayed or
    /// reordered by a broker, and pulled member lists then converge on the newest knowledge whatever their
    /// order, and a late event never brings a dead member back.
    /// </summary>
    public bool Supersedes(MemberDto? known) =>
        known is null
        || Incarnation > known.Incarnation
        || (Incarnation == known.Incarnation && Rank(State) > Rank(known.State));

    private static int Rank(string state) => state switch
    {
        "alive" => 0,
        "suspect" => 1,
        _ => 2, // dead, left
    };
}
