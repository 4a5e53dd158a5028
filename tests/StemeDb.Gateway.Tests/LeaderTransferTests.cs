using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// Leadership moves (the balancer's reorders: the same replicas, another first) while clients read and
/// write through the gateway: a moved leader is a new generation, so requests routed at the old one are
/// refused by the replicas and retried by the gateway at the new one; no client sees a failure.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class LeaderTransferTests
{
    private const int Writers = 4;
    private const int Readers = 4;
    private const int MaxRequestsPerClient = 400;

    [Fact]
    public async Task Leadership_moves_under_reads_and_writes_and_no_request_fails()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();

        var failures = new ConcurrentQueue<string>();
        var acknowledged = new ConcurrentDictionary<string, string>(); // id -> subject
        var servedBy = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a bound, never reached unless stuck
        int written = 0;
        int read = 0;

        async Task WriterAsync(int w)
        {
            for (int n = 0; n < MaxRequestsPerClient && !stop.IsCancellationRequested; n++)
            {
                string subject = $"transfer:{w}:{n % 20}";
                using var body = new StringContent(JsonSerializer.Serialize(new { subject, predicate = "n", @object = n }), Encoding.UTF8, "application/json");
                using HttpResponseMessage response = await gateway.Http.PostAsync("/v1/assertions", body, CancellationToken.None);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"write {subject} #{n}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                    continue;
                }

                acknowledged[(await response.Content.ReadFromJsonAsync<WriteResponse>(CancellationToken.None))!.Ids.Single()] = subject;
                servedBy.AddOrUpdate(response.Headers.GetValues(InternalHeaderNames.Node).Single(), 1, (_, c) => c + 1);
                Interlocked.Increment(ref written);
            }
        }

        async Task ReaderAsync(int r)
        {
            for (int n = 0; n < MaxRequestsPerClient && !stop.IsCancellationRequested; n++)
            {
                string subject = $"transfer:{r % Writers}:{n % 20}";
                using HttpResponseMessage response = await gateway.Http.GetAsync($"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions", CancellationToken.None);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"read {subject} #{n}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                    continue;
                }

                Interlocked.Increment(ref read);
            }
        }

        Task load = Task.WhenAll([.. Enumerable.Range(0, Writers).Select(WriterAsync), .. Enumerable.Range(0, Readers).Select(ReaderAsync)]);

        // Four moves of the leader, each proposed by the node that leads, while the load runs.
        int[] leaders = [2, 3, 1, 2];
        var moves = Stopwatch.StartNew();
        foreach (int next in leaders)
        {
            await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref written) > 20 || load.IsCompleted), TimeSpan.FromSeconds(20), "some writes went through at this generation");
            Interlocked.Exchange(ref written, 0);
            RangeDescriptor current = cluster.Node(0).Table.Current.Entries.Single().Descriptor;
            int proposer = int.Parse(current.Replicas[0].Value["stemedb-node-".Length..], System.Globalization.CultureInfo.InvariantCulture) - 1;
            var leader = new NodeId($"stemedb-node-{next}");
            var moved = new RangeDescriptor(current.Id, current.StartShard, current.EndShard, [leader, .. current.Replicas.Where(r => r != leader)], current.Generation + 1, cluster.Node(proposer).Clock.Now(), current.Replicas[0]);
            await cluster.ProposeAsync(proposer, RangeChangeKind.Reorder, [current], [moved]);
            await Poll.UntilAsync(() => Task.FromResult(Enumerable.Range(0, 3).All(i => cluster.Node(i).Table.Current.Entries.Single().Descriptor.Generation == moved.Generation)), TimeSpan.FromSeconds(10), $"every node learned generation {moved.Generation} led by {leader}");
        }

        bool movedUnderLoad = !load.IsCompleted;
        await load;
        Assert.True(movedUnderLoad, "the load ended before the last move: the test proves nothing");
        Assert.False(stop.IsCancellationRequested, "the load did not finish within its bound");
        Assert.True(failures.IsEmpty, $"{failures.Count} requests failed during {leaders.Length} leader moves in {moves.Elapsed.TotalSeconds:F1} s:\n{string.Join('\n', failures.Take(10))}");
        Assert.True(servedBy.Count >= 2, $"writes were coordinated by {string.Join(", ", servedBy.Keys)} only: the leader never moved under load");
        Assert.Equal(Readers * MaxRequestsPerClient, read);

        // Every acknowledged write reads back after the moves.
        foreach (IGrouping<string, KeyValuePair<string, string>> subject in acknowledged.GroupBy(a => a.Value))
        {
            List<JsonElement> found = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>($"/v1/subjects/{Uri.EscapeDataString(subject.Key)}/assertions"))!;
            var ids = found.Select(a => a.GetProperty("id").GetString()!).ToHashSet();
            Assert.All(subject, a => Assert.Contains(a.Key, ids));
        }

        Assert.Equal(Writers * MaxRequestsPerClient, acknowledged.Count);
    }
}
