using StemeDb.Contracts.Wire;
using StemeDb.Local;
using StemeDb.Testing;

namespace StemeDb.Client.Tests;

/// <summary>WatchMembershipAsync against the gateway's real event stream, with the connection cut between them.</summary>
public sealed class WatchTests(EmbeddedCluster cluster) : IClassFixture<EmbeddedCluster>
{
    [Fact]
    public async Task A_watch_sees_the_view_then_a_node_that_joins_while_its_stream_was_cut_and_resumes_with_last_event_id()
    {
        await using var relay = new TcpRelay(cluster.Gateway);
        using var clients = new Clients(relay.Address, o => o.WatchInitialBackoff = TimeSpan.FromMilliseconds(100));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var seen = new List<MembershipEventDto>();
        var view = new Dictionary<string, MemberDto>();
        var gotView = new TaskCompletionSource();
        string? joiner = null;
        var gotJoin = new TaskCompletionSource();
        Task watching = Task.Run(async () =>
        {
            await foreach (MembershipEventDto e in clients.Client.WatchMembershipAsync(cancellationToken: stop.Token))
            {
                lock (seen)
                {
                    seen.Add(e);
                    if (e.Member.Supersedes(view.GetValueOrDefault(e.MemberId)))
                    {
                        view[e.MemberId] = e.Member;
                    }

                    if (view.Count(m => m.Value.State == "alive") == 3)
                    {
                        gotView.TrySetResult();
                    }

                    if (joiner is not null && e.MemberId == joiner && e.State == "alive")
                    {
                        gotJoin.TrySetResult();
                    }
                }
            }
        });

        await gotView.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"], view.Keys.Order());

        // The stream is cut (a proxy restarting); meanwhile a node joins. The watch reconnects by itself.
        relay.CutAll();
        int swim = FreePorts.Udp();
        joiner = $"stemedb-node-{swim}";
        await using LocalCluster second = await LocalCluster.StartAsync(new LocalOptions { Nodes = 1, Gateway = false, SwimBasePort = swim, HttpBasePort = 0, Seed = $"127.0.0.1:{cluster.SwimBasePort}", DataDirectory = cluster.DataDirectory });
        await gotJoin.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching);

        string[] streams = [.. relay.Heads.Where(h => h.StartsWith("GET /v1/cluster/events", StringComparison.Ordinal))];
        Assert.True(streams.Length >= 2, $"reconnected ({streams.Length} stream requests)");
        Assert.DoesNotContain("Last-Event-ID", streams[0], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\r\nLast-Event-ID: ", streams[1], StringComparison.OrdinalIgnoreCase);
        lock (seen)
        {
            // Nothing twice: the resumed stream started after the last event seen, not with the view again.
            Assert.Equal(seen.Count, seen.Select(e => e.Key).Distinct().Count());
            Assert.Equal(3, seen.Count(e => e.MemberId != joiner));
        }
    }
}
