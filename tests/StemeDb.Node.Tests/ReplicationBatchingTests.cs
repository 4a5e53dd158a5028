using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Storage;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>
/// Writes bound for the same replica travel together (<see cref="ReplicationBatcher"/>): node-1's calls to
/// its peers are held, so writes pile up behind the calls in flight; when the calls go through, what waited
/// goes as one call per peer. An acknowledgement still means a majority stored the write.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class ReplicationBatchingTests
{
    private const int Writes = 20;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Node:AntiEntropyInterval"] = "00:10:00",
        ["Node:RangeCheckInterval"] = "00:10:00",
        ["Node:ReplicaTimeout"] = "00:00:30",
    };

    private static NodeId Id(int i) => new($"stemedb-node-{i}");

    private static RocksDbAssertionStore Store(NodeCluster cluster, int i) => cluster.Apps[i]!.Services.GetRequiredService<RocksDbAssertionStore>();

    private static ReplicationBatcher Batcher(NodeCluster cluster) => cluster.Apps[0]!.Services.GetRequiredService<ReplicationBatcher>();

    private static async Task<(NodeCluster Cluster, HeldCalls Hold)> StartAsync()
    {
        var hold = new HeldCalls();
        NodeCluster cluster = await NodeCluster.StartAsync(3, Settings, perNodeServices: i => i == 0 ? hold.Install : null);
        await cluster.WaitJoinedAsync();
        return (cluster, hold);
    }

    private static Task<HttpResponseMessage> WriteAsync(HttpClient http, NodeCluster cluster, string subject) =>
        http.PostAsJsonAsync(new Uri(cluster.Urls[0], InternalRoutes.Write), new WriteRequest([new AssertionInput(subject, "p", JsonDocument.Parse("1").RootElement, null, null)]));

    /// <summary>
    /// Starts the writes with node-1's calls held: the first <see cref="ReplicationBatcher.MaxInFlight"/> one at
    /// a time, each until its call to both peers is out (so each is a call of its own), then the rest at once.
    /// </summary>
    private static async Task<Task<HttpResponseMessage>[]> StartHeldAsync(HttpClient http, NodeCluster cluster, HeldCalls hold, string[] subjects)
    {
        var writes = new List<Task<HttpResponseMessage>>();
        for (int i = 0; i < ReplicationBatcher.MaxInFlight; i++)
        {
            writes.Add(WriteAsync(http, cluster, subjects[i]));
            int sent = 2 * (i + 1);
            await Poll.UntilAsync(() => Task.FromResult(hold.Sent.Count == sent), TimeSpan.FromSeconds(10), $"call {i + 1} to both peers is out");
        }

        writes.AddRange(subjects.Skip(ReplicationBatcher.MaxInFlight).Select(s => WriteAsync(http, cluster, s)));
        return [.. writes];
    }

    [Fact]
    public async Task Concurrent_writes_to_a_replica_share_one_call_and_none_is_acknowledged_before_a_majority_stored_it()
    {
        (NodeCluster cluster, HeldCalls hold) = await StartAsync();
        await using (cluster)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            hold.Held = _ => true;
            string[] subjects = [.. Enumerable.Range(0, Writes).Select(i => $"batched:{i}")];
            Task<HttpResponseMessage>[] writes = await StartHeldAsync(http, cluster, hold, subjects);
            await Poll.UntilAsync(() => Task.FromResult(Batcher(cluster).Handed == 2 * Writes), TimeSpan.FromSeconds(10), "node-1 handed every write to both peers");

            // Stored on node-1 alone while its calls are held: not a majority, so nothing is acknowledged.
            await Task.Delay(300);
            Assert.DoesNotContain(writes, w => w.IsCompleted);
            Assert.Equal(2 * ReplicationBatcher.MaxInFlight, hold.Sent.Count); // the rest wait behind the calls in flight

            hold.Held = _ => false;
            foreach (Task<HttpResponseMessage> write in writes)
            {
                using HttpResponseMessage answer = await write;
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            }

            // Per peer: the calls in flight, then one call with everything that waited (the answers came with
            // the first peer's, a majority; the other peer's call may still be on its way).
            int waited = 2 * (Writes - ReplicationBatcher.MaxInFlight); // records that waited, both peers together
            await Poll.UntilAsync(() => Task.FromResult(hold.Sent.Skip(2 * ReplicationBatcher.MaxInFlight).Sum() == waited), TimeSpan.FromSeconds(10), "what waited went out to both peers");
            int[] after = [.. hold.Sent.Skip(2 * ReplicationBatcher.MaxInFlight)];
            Assert.True(after.Length == 2, $"what waited took {after.Length} calls to two peers ({string.Join(", ", after)} records), not one call each");
            Assert.Equal(2, Batcher(cluster).Combined);
            foreach (string subject in subjects)
            {
                Assert.True(Enumerable.Range(0, 3).Count(i => Store(cluster, i).Read(subject).Count == 1) >= 2, $"{subject} was acknowledged but is not on a majority");
            }
        }
    }

    [Fact]
    public async Task A_combined_call_refused_for_one_range_is_sent_again_write_by_write_and_only_that_range_is_refused()
    {
        (NodeCluster cluster, HeldCalls hold) = await StartAsync();
        await using (cluster)
        {
            // Two ranges on [1, 2, 3]; writes to both wait behind held calls, then the second range gets a new
            // generation (a renewal decided by node-2) before the combined call reaches the peers.
            await cluster.SplitGenesisInHalfAsync();
            int half = NodeCluster.Shards / 2;

            string[] candidates = [.. Enumerable.Range(0, 400).Select(i => $"mixed:{i}")];
            string[] first = [.. candidates.Where(s => cluster.Node(0).Router.Route(s).Shard < half).Take(Writes / 2)];
            string[] second = [.. candidates.Where(s => cluster.Node(0).Router.Route(s).Shard >= half).Take(Writes / 2)];
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            hold.Held = _ => true;

            // Two writes to the first range take the calls in flight; the rest, of both ranges, wait and combine.
            string[] waiting = [.. first.Skip(ReplicationBatcher.MaxInFlight), .. second];
            Task<HttpResponseMessage>[] all = await StartHeldAsync(http, cluster, hold, [.. first.Take(ReplicationBatcher.MaxInFlight), .. waiting]);
            Task<HttpResponseMessage>[] leading = all[..ReplicationBatcher.MaxInFlight];
            Task<HttpResponseMessage>[] rest = all[ReplicationBatcher.MaxInFlight..];
            await Poll.UntilAsync(() => Task.FromResult(Batcher(cluster).Handed == 2 * Writes), TimeSpan.FromSeconds(10), "node-1 handed every write to both peers");

            RangeDescriptor current = cluster.Node(1).Table.Current.Entries[1].Descriptor;
            await cluster.ProposeAsync(1, RangeChangeKind.Renew, [current], [new RangeDescriptor(current.Id, current.StartShard, current.EndShard, current.Replicas, current.Generation + 1, cluster.Node(1).Clock.Now(), Id(2))]);
            hold.Held = _ => false;

            foreach (Task<HttpResponseMessage> write in leading)
            {
                using HttpResponseMessage answer = await write;
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            }

            var answers = new Dictionary<string, HttpStatusCode>();
            for (int i = 0; i < waiting.Length; i++)
            {
                using HttpResponseMessage answer = await rest[i];
                answers[waiting[i]] = answer.StatusCode;
            }

            // The first range's writes are acknowledged although they travelled with the refused ones; the
            // second range's are not (they were routed at the generation the replicas no longer hold).
            Assert.All(first.Skip(ReplicationBatcher.MaxInFlight), s => Assert.Equal(HttpStatusCode.OK, answers[s]));
            Assert.All(second, s => Assert.NotEqual(HttpStatusCode.OK, answers[s]));
            Assert.True(Batcher(cluster).Resent > 0, "no combined call was refused: the test proves nothing");
            foreach (string subject in first)
            {
                Assert.True(Enumerable.Range(0, 3).Count(i => Store(cluster, i).Read(subject).Count == 1) >= 2, $"{subject} was acknowledged but is not on a majority");
            }
        }
    }
}
