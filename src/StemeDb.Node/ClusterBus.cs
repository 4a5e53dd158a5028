using StemeDb.Contracts.Wire;
using Dapr.Client;
using StemeDb.Cluster.Membership;

namespace StemeDb.Node;

/// <summary>
/// The port between this node and its peers, with two adapters (<c>Node:Transport</c>): direct HTTP to the
/// address in SWIM metadata (the embedded cluster, container tests), or Dapr (pub/sub topics and service
/// invocation by app-id). The cluster logic never knows which one runs.
/// </summary>
public interface IClusterBus
{
    /// <summary>Where to call a peer's HTTP API: its own address, or <c>http://{app-id}/</c> through the sidecar.</summary>
    Uri? AddressOf(NodeInfo member);

    /// <summary>
    /// Publishes a decided meta-range change (one message holding every descriptor it creates) on the
    /// topic; false when this adapter has no topic, and the caller posts it to every member instead.
    /// </summary>
    Task<bool> PublishMetaRangeAsync(MetaRangeDto update, CancellationToken cancellationToken);

    Task PublishMembershipAsync(MembershipEvent change, CancellationToken cancellationToken);
}

/// <summary>Direct adapter: peers by their HTTP address; no topics (meta-range updates are posted to every member).</summary>
public sealed class DirectClusterBus : IClusterBus
{
    public Uri? AddressOf(NodeInfo member) =>
        Uri.TryCreate(member.HttpAddress, UriKind.Absolute, out Uri? uri) ? uri : null;

    public Task<bool> PublishMetaRangeAsync(MetaRangeDto update, CancellationToken cancellationToken) => Task.FromResult(false);

    // Without Dapr there is no topic: in-process subscribers use SwimMembership.WatchAsync.
    public Task PublishMembershipAsync(MembershipEvent change, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Dapr adapter: meta-range updates on topic <c>meta-range</c> and membership events on topic
/// <c>membership</c> through <see cref="DaprClient"/>; peers invoked by app-id through the sidecar (the
/// "peers" HTTP client carries Dapr's <see cref="InvocationHandler"/>).
/// </summary>
public sealed class DaprClusterBus(DaprClient dapr, NodeOptions options, ILogger<DaprClusterBus> logger) : IClusterBus
{
    public Uri? AddressOf(NodeInfo member) => new($"http://{member.AppId}/");

    public async Task<bool> PublishMetaRangeAsync(MetaRangeDto update, CancellationToken cancellationToken)
    {
        await dapr.PublishEventAsync(options.PubSubName, Contracts.Topics.MetaRange, update, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task PublishMembershipAsync(MembershipEvent change, CancellationToken cancellationToken)
    {
        try
        {
            // The envelope carries the contract: type io.stemedb.membership.<kind> and id = the key, the same
            // for this change from every observer (daprd applies cloudevent.* metadata: pkg/runtime/pubsub/cloudevents.go NewCloudEvent).
            MembershipEventDto data = MembershipEventDto.From(change);
            var metadata = new Dictionary<string, string> { ["cloudevent.type"] = data.Type, ["cloudevent.id"] = data.Key };
            await dapr.PublishEventAsync(options.PubSubName, Contracts.Topics.Membership, data, metadata, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Dapr.DaprException or OperationCanceledException)
        {
            logger.LogWarning(e, "Could not publish the membership event {Kind} of {Node}", change.Kind, change.Member.Id);
        }
    }
}
