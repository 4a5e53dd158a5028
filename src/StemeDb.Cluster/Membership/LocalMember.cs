using System.Collections.Immutable;

namespace StemeDb.Cluster.Membership;

/// <summary>Who this member is, as it tells the others: its id, Dapr app-id, HTTP address and metadata.</summary>
public sealed record LocalMember(NodeId Id, string AppId, string HttpAddress, ImmutableSortedDictionary<string, string> Metadata)
{
    public LocalMember(NodeId id, string appId, string httpAddress)
        : this(id, appId, httpAddress, ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal))
    {
    }
}
