using System.Net;
using System.Text;
using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node.Tests;

/// <summary>
/// <c>POST /internal/v1/batch</c> on real nodes: each call of a batch is answered with the status and body it
/// gets when sent alone; a malformed batch is a 400; a call only peers may make is refused inside a batch
/// from a caller without the cluster id, as it is alone.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class BatchApiTests
{
    private static readonly NodeId One = new("stemedb-node-1");

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Call(string route, string body) => "{\"route\":\"" + route + "\",\"body\":" + body + "}";

    private static async Task<List<BatchAnswer>> PostBatchAsync(HttpClient http, Uri node, string calls, string? cluster = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node, InternalRoutes.Batch)) { Content = Json($"{{\"calls\":[{calls}]}}") };
        if (cluster is not null)
        {
            request.Headers.Add(InternalHeaderNames.Cluster, cluster);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BatchAnswer.StreamContentType, response.Content.Headers.ContentType?.MediaType);
        string[] lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return [.. lines.Select(l => BatchAnswer.ReadLine(Encoding.UTF8.GetBytes(l)) ?? throw new InvalidOperationException($"not an answer: {l}")).OrderBy(a => a.Index)];
    }

    [Fact]
    public async Task Each_call_of_a_batch_is_answered_as_it_is_alone()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        using var client = new RoutingClient(cluster, 3);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Uri node = client.UrlOf(One);
        string id = (await client.WriteAsync("batch:read", "p", "1"))!;

        string write = """{"assertions":[{"subject":"batch:new","predicate":"p","object":2}]}""";
        string query = """{"subject":"batch:read","history":false}""";
        string noSubject = """{"history":false}""";
        string retractUnknown = """{"subject":"batch:read","id":"0000000000000000000000000000000000000000000000000000000000000000"}""";
        List<BatchAnswer> answers = await PostBatchAsync(http, node, string.Join(",",
            Call(InternalRoutes.Write, write),
            Call(InternalRoutes.Query, query),
            Call(InternalRoutes.Query, noSubject),
            Call(InternalRoutes.Retract, retractUnknown),
            Call(InternalRoutes.MetaRange, "{}"),
            Call(InternalRoutes.Query, "[1,2]"),
            Call(InternalRoutes.ReplicaRead, "{}")));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], answers.Select(a => a.Index));

        // The same calls alone, for their statuses and bodies.
        async Task<(int Status, string Body)> AloneAsync(string route, string body)
        {
            using HttpResponseMessage alone = await http.PostAsync(new Uri(node, route), Json(body));
            return ((int)alone.StatusCode, await alone.Content.ReadAsStringAsync());
        }

        Assert.Equal(200, answers[0].Status);
        Assert.Equal(1, JsonDocument.Parse(answers[0].Body).RootElement.GetProperty("stored").GetInt32());
        (int queryStatus, string queryBody) = await AloneAsync(InternalRoutes.Query, query);
        Assert.Equal(queryStatus, answers[1].Status);
        Assert.Equal(queryBody, Encoding.UTF8.GetString(answers[1].Body));
        Assert.Equal(id, JsonDocument.Parse(answers[1].Body).RootElement[0].GetProperty("id").GetString());
        Assert.Equal((await AloneAsync(InternalRoutes.Query, noSubject)).Status, answers[2].Status);
        Assert.Equal(400, answers[2].Status);
        Assert.Equal((await AloneAsync(InternalRoutes.Retract, retractUnknown)).Status, answers[3].Status);
        Assert.Equal(404, answers[3].Status);
        Assert.Equal(400, answers[4].Status); // not a route a batch carries
        Assert.Equal(400, answers[5].Status); // a body the route does not take
        Assert.Equal("application/problem+json", answers[5].ContentType);
        Assert.Equal(412, answers[6].Status); // a replica read needs the cluster id, as alone
        Assert.Equal(412, (await AloneAsync(InternalRoutes.ReplicaRead, "{}")).Status);

        // The write in the batch was a quorum write like any other.
        Assert.Single(await client.ReadAsync(One, "batch:new", quorum: true));
    }

    [Fact]
    public async Task A_peer_batches_replica_reads_and_a_malformed_batch_is_refused()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        using var client = new RoutingClient(cluster, 3);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        string id = (await client.WriteAsync("batch:replica", "p", "1"))!;
        RangeDescriptor range = cluster.Node(1).Table.Current.Find(cluster.Node(1).Router.Route("batch:replica").Shard).Descriptor;
        string read = JsonSerializer.Serialize(new ReplicaReadRequest(RangeDescriptorDto.From(range), "batch:replica", null), JsonSerializerOptions.Web);
        List<BatchAnswer> answers = await PostBatchAsync(
            http,
            client.UrlOf(new NodeId("stemedb-node-2")),
            Call(InternalRoutes.ReplicaRead, read) + "," + Call(InternalRoutes.ReplicaRead, read),
            cluster.Node(0).ClusterId.ToString());
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.All(answers, a => Assert.Equal(id, JsonDocument.Parse(a.Body).RootElement.GetProperty("assertions")[0].GetProperty("id").GetString()));

        foreach (string body in new[] { "[]", "{\"calls\":[]}", "{\"calls\":{}}", "{\"calls\":[{\"body\":{}}]}", "not json", $"{{\"calls\":[{string.Join(",", Enumerable.Repeat("{\"route\":\"/x\",\"body\":{}}", BatchApi.MaxCalls + 1))}]}}" })
        {
            using HttpResponseMessage refused = await http.PostAsync(new Uri(client.UrlOf(One), InternalRoutes.Batch), Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }
    }
}
