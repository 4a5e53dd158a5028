using System.Diagnostics;
using StemeDb.Cluster.Membership;
using StemeDb.Contracts;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>
/// A majority read asks only as many other replicas as a majority needs, and one more when one does not
/// answer within the hedge delay (<see cref="HedgeDelay"/>). Three nodes, so node-1 coordinates every read
/// and asks one of its two peers; the answer is still the union of a majority's records.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class HedgedReadTests
{
    private const int Reads = 20;

    private static readonly NodeId One = new("stemedb-node-1");

    private static async Task<(NodeCluster Cluster, HeldCalls Calls)> StartAsync(string hedgeDelay)
    {
        var calls = new HeldCalls(InternalRoutes.ReplicaRead);
        NodeCluster cluster = await NodeCluster.StartAsync(
            3,
            new()
            {
                ["Node:AntiEntropyInterval"] = "00:10:00",
                ["Node:RangeCheckInterval"] = "00:10:00",
                ["Node:ReplicaTimeout"] = "00:00:30",
                ["Node:ReadHedgeDelay"] = hedgeDelay,
            },
            perNodeServices: i => i == 0 ? calls.Install : null);
        await cluster.WaitJoinedAsync();
        return (cluster, calls);
    }

    private static async Task<Dictionary<string, string>> WriteAsync(RoutingClient client)
    {
        var ids = new Dictionary<string, string>();
        for (int i = 0; i < Reads; i++)
        {
            ids[$"hedged:{i}"] = (await client.WriteAsync($"hedged:{i}", "p", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))!;
        }

        return ids;
    }

    [Fact]
    public async Task A_read_asks_one_other_replica_of_three()
    {
        (NodeCluster cluster, HeldCalls calls) = await StartAsync("00:00:20");
        await using (cluster)
        {
            using var client = new RoutingClient(cluster, 3);
            Dictionary<string, string> ids = await WriteAsync(client);
            int before = calls.Sent.Count;
            foreach ((string subject, string id) in ids)
            {
                Assert.Equal(id, Assert.Single(await client.ReadAsync(One, subject, quorum: true)).Id);
            }

            // Asking both peers would be 2 calls a read.
            Assert.Equal(Reads, calls.Sent.Count - before);
        }
    }

    [Fact]
    public async Task A_read_whose_replica_does_not_answer_asks_the_next_after_the_hedge_delay()
    {
        (NodeCluster cluster, HeldCalls calls) = await StartAsync("00:00:00.200");
        await using (cluster)
        {
            using var client = new RoutingClient(cluster, 3);
            Dictionary<string, string> ids = await WriteAsync(client);

            // node-1's reads from node-2 hang (for 20 s, below the 30 s replica timeout); node-3 answers.
            calls.Held = uri => uri.Port == cluster.Urls[1].Port;
            foreach ((string subject, string id) in ids)
            {
                var took = Stopwatch.StartNew();
                Assert.Equal(id, Assert.Single(await client.ReadAsync(One, subject, quorum: true)).Id);
                Assert.True(took.Elapsed < TimeSpan.FromSeconds(10), $"the read of {subject} took {took.Elapsed}: it waited for the held replica");
            }

            // Each read picks its first replica at random: some began with the held one (all 20 missing it: 2^-20).
            Assert.True(calls.Waiting > 0, "no read asked node-2 first");

            // Once node-3 answered, each read called off its ask of node-2 (not left to hang for 20 s).
            await Poll.UntilAsync(() => calls.CalledOff == calls.Waiting, TimeSpan.FromSeconds(5), "every held ask called off", diagnostics: () => Task.FromResult($"{calls.CalledOff} of {calls.Waiting} held asks called off"));
        }
    }
}
