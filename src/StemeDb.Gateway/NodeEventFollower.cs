using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway;

/// <summary>
/// The timely source of membership changes without Dapr: the gateway follows one live node's stream of its
/// SWIM changes (<c>/internal/v1/members/watch</c>), failing over to another when it ends, errs or falls
/// silent, and applies each change to its view like a topic event. Why this source: the pulls alone
/// (<see cref="GatewayOptions.RefreshInterval"/>, 5 s) make every event up to a pull late and fold a
/// suspect-then-alive between two pulls into nothing; a node's own stream has each change as SWIM raises
/// it. One node suffices because SWIM disseminates every change to every member; the pulls stay as the
/// repair for whatever a failover misses (the stream also starts with the node's whole list). With Dapr
/// the membership topic is that source already, and a long-lived response through the sidecar would be
/// cut by the invocation timeout, so this runs only with the direct transport.
/// </summary>
public sealed class NodeEventFollower(GatewayOptions options, RoutingTable table, IHttpClientFactory http, TimeProvider time, ILogger<NodeEventFollower> logger) : BackgroundService
{
    /// <summary>Silence longer than this (three of the node's heartbeats) means the node hangs: follow another.</summary>
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(15);

    private readonly Random _random = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            bool followed = false;
            foreach (Uri source in Sources())
            {
                try
                {
                    followed |= await FollowAsync(source, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or JsonException or Polly.ExecutionRejectedException)
                {
                    logger.LogDebug(e, "Following the membership changes of {Source} ended; trying another node", source);
                }

                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }

            try
            {
                // Quickly again after a node that was followed went away; gently while none answers.
                await Task.Delay(followed ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Live members in random order (so gateways spread over nodes), then the seeds.</summary>
    private List<Uri> Sources()
    {
        List<Uri> sources = [.. table.Members.Where(m => m.State == "alive").OrderBy(_ => _random.Next()).Select(m => table.AddressOf(new NodeId(m.Id))).OfType<Uri>()];
        sources.AddRange(options.Seeds.Select(s => new Uri(s)));
        return sources;
    }

    /// <summary>Follows one node until its stream ends; true if it answered at all.</summary>
    private async Task<bool> FollowAsync(Uri source, CancellationToken stoppingToken)
    {
        HttpClient client = http.CreateClient("nodes"); // the nodes' client: the same headers (tokens) as every call to a node
        using HttpResponseMessage response = await client.GetAsync(new Uri(source, InternalRoutes.MembersWatch), HttpCompletionOption.ResponseHeadersRead, stoppingToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stoppingToken).ConfigureAwait(false));
        logger.LogDebug("Following the membership changes of {Source}", source);
        while (true)
        {
            using var silence = new CancellationTokenSource(Silence, time);
            using var read = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, silence.Token);
            if (await reader.ReadLineAsync(read.Token).ConfigureAwait(false) is not { } line)
            {
                return true;
            }

            if (line.Length > 0 && JsonSerializer.Deserialize<MembershipEventDto>(line, JsonSerializerOptions.Web) is { MemberId.Length: > 0, State.Length: > 0 } change)
            {
                table.Apply(change.Member, change);
            }
        }
    }
}
