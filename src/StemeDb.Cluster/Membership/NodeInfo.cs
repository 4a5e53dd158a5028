using System.Collections.Immutable;
using System.Net;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// What a member is known as: its id, where SWIM reaches it, its Dapr app-id and HTTP address (how the
/// apps reach it), free-form metadata, and its SWIM incarnation and state as this node last heard them.
/// </summary>
public sealed record NodeInfo(
    NodeId Id,
    IPEndPoint SwimAddress,
    string AppId,
    string HttpAddress,
    uint Incarnation,
    NodeState State,
    ImmutableSortedDictionary<string, string> Metadata)
{
    public const int MaxAppIdBytes = 63;
    public const int MaxHttpAddressBytes = 255;
    public const int MaxMetadataEntries = 16;
    public const int MaxMetadataKeyBytes = 64;
    public const int MaxMetadataValueBytes = 255;

    /// <summary>Whether this member takes part in probing and routing (alive or suspected, not dead or gone).</summary>
    public bool IsActive => State is NodeState.Alive or NodeState.Suspect;

    // Value equality over the metadata entries, not the dictionary reference.
    public bool Equals(NodeInfo? other) =>
        other is not null &&
        Id == other.Id &&
        SwimAddress.Equals(other.SwimAddress) &&
        AppId == other.AppId &&
        HttpAddress == other.HttpAddress &&
        Incarnation == other.Incarnation &&
        State == other.State &&
        Metadata.Count == other.Metadata.Count &&
        Metadata.All(kv => other.Metadata.TryGetValue(kv.Key, out string? v) && v == kv.Value);

    public override int GetHashCode() => HashCode.Combine(Id, SwimAddress, AppId, HttpAddress, Incarnation, State, Metadata.Count);

    public override string ToString() => $"{Id}@{SwimAddress} inc {Incarnation} {State}";
}
