using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Node.Tests;
using StemeDb.Contracts.Wire;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>The gateway in front of real node apps on loopback (direct adapter).</summary>
[Collection(LoopbackClusters.Name)]
public sealed class ClusterThroughGatewayTests
{
    private static NodeId Id(int i) => new($"stemedb-node-{i}");

    private static async Task<NodeCluster> StartThree(Dictionary<string, string?>? extra = null)
    {
        NodeCluster cluster = await NodeCluster.StartAsync(3, extra);
        await cluster.WaitJoinedAsync();
        return cluster;
    }

    private static StringContent Json(string subject, string predicate, string value) =>
        new(JsonSerializer.Serialize(new { subject, predicate, @object = JsonDocument.Parse(value).RootElement }), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Every_subject_goes_to_the_leader_the_core_router_computes_and_reads_back()
    {
        await using NodeCluster cluster = await StartThree();
        // Four ranges with different leaders, so routing has something to get wrong.
        RangeDescriptor genesis = cluster.Node(0).Table.Current.Entries[0].Descriptor;
        var now = cluster.Node(0).Clock.Now();
        int[][] orders = [[1, 2, 3], [2, 3, 1], [3, 1, 2], [2, 1, 3]];
        int width = NodeCluster.Shards / 4;
        await cluster.ProposeAsync(0, RangeChangeKind.Split, [genesis], [.. Enumerable.Range(0, 4).Select(r =>
            new RangeDescriptor(r == 0 ? genesis.Id : RangeId.Derive(genesis.Id, 1, r * width), r * width, (r + 1) * width, [.. orders[r].Select(Id)], 1, now, Id(1)))]);

        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();
        await Poll.UntilAsync(async () => (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!.Count == 4, TimeSpan.FromSeconds(10), "the gateway sees four ranges");

        var leaders = new HashSet<string>();
        for (int i = 0; i < 40; i++)
        {
            string subject = $"person:{i}";
            using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", Json(subject, "name", $"\"p{i}\""));
            Assert.Equal(HttpStatusCode.OK, written.StatusCode);
            string served = written.Headers.GetValues(InternalHeaderNames.Node).Single();
            Assert.Equal(cluster.Node(0).Router.Route(subject).Leader.Value, served);
            leaders.Add(served);
            string id = (await written.Content.ReadFromJsonAsync<WriteResponse>())!.Ids.Single();

            List<JsonElement> read = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>($"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions"))!;
            Assert.Equal(id, Assert.Single(read).GetProperty("id").GetString());
        }

        Assert.True(leaders.Count >= 2, "the subjects all went to one leader: the test proves nothing");

        // The ranges view: span, generation, replicas, leader, and the bytes the leader holds.
        List<JsonElement> ranges = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!;
        Assert.Equal(4, ranges.Count);
        Assert.All(ranges, r => Assert.Equal(JsonValueKind.Number, r.GetProperty("sizeBytes").ValueKind));
        Assert.True(ranges.Sum(r => r.GetProperty("sizeBytes").GetInt64()) > 0);
        Assert.Equal(["stemedb-node-2", "stemedb-node-3", "stemedb-node-1"], ranges[1].GetProperty("replicas").EnumerateArray().Select(x => x.GetString()!));
        Assert.Equal("stemedb-node-2", ranges[1].GetProperty("leader").GetString());

        // Retract through the gateway, then read history.
        List<JsonElement> before = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/subjects/person%3A1/assertions"))!;
        string target = before[0].GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.DeleteAsync($"/v1/subjects/person%3A1/assertions/{target}")).StatusCode);
        Assert.Empty((await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/subjects/person%3A1/assertions"))!);
        Assert.NotEqual(JsonValueKind.Null, (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/subjects/person%3A1/assertions?history=true"))![0].GetProperty("retractedAt").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.DeleteAsync($"/v1/subjects/person%3A1/assertions/{new string('0', 64)}")).StatusCode);
    }

    [Fact]
    public async Task Requests_keep_succeeding_through_the_other_replicas_once_a_stopped_node_is_detected_dead()
    {
        await using NodeCluster cluster = await StartThree();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Http.PostAsync("/v1/assertions", Json($"before:{i}", "p", "1"))).StatusCode);
        }

        await cluster.KillAsync(0); // the leader of the only range
        await Poll.UntilAsync(() => Task.FromResult(cluster.Node(1).Swim.Find(Id(1))?.State == NodeState.Dead), TimeSpan.FromSeconds(20), "node-1 detected dead");

        for (int i = 0; i < 50; i++)
        {
            using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", Json($"after:{i}", "p", "1"));
            Assert.Equal(HttpStatusCode.OK, written.StatusCode);
            using HttpResponseMessage read = await gateway.Http.GetAsync($"/v1/subjects/before%3A{i % 10}/assertions");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            Assert.Single((await read.Content.ReadFromJsonAsync<List<JsonElement>>())!);
        }
    }

    [Fact]
    public async Task A_split_during_a_stream_of_reads_and_writes_causes_no_failed_request()
    {
        await using NodeCluster cluster = await StartThree(new()
        {
            ["Cluster:Sharding:SplitThresholdBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:Sharding:MergeThresholdBytes"] = (256 << 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:Sharding:StrandedRangeBytes"] = "0",
        });
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();
        string payload = JsonSerializer.Serialize(new string('x', 900));
        int failed = 0;
        for (int i = 0; i < 1600 && (i < 1300 || cluster.Node(0).Table.Current.Entries.Length < 2); i++)
        {
            using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", Json($"doc:{i}", "body", payload));
            failed += written.IsSuccessStatusCode ? 0 : 1;
            if (i % 10 == 0)
            {
                using HttpResponseMessage read = await gateway.Http.GetAsync($"/v1/subjects/doc%3A{i / 2}/assertions");
                failed += read.IsSuccessStatusCode && (await read.Content.ReadFromJsonAsync<List<JsonElement>>())!.Count == 1 ? 0 : 1;
            }
        }

        Assert.Equal(0, failed);
        Assert.True(cluster.Node(0).Table.Current.Entries.Length >= 2, "the range never split");
    }
}
