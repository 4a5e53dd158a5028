using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StemeDb.Gateway.Tests;

/// <summary>The gateway's Dapr subscriptions, as Dapr.AspNetCore serves them and daprd delivers to them.</summary>
public sealed class GatewayDaprTests
{
    private static Task<GatewayHost> StartDaprGateway() =>
        GatewayHost.StartAsync([], new()
        {
            ["Gateway:Transport"] = "Dapr",
            ["Gateway:Seeds:0"] = "stemedb-node-1",
            ["DAPR_HTTP_ENDPOINT"] = "http://127.0.0.1:1",
            ["DAPR_GRPC_ENDPOINT"] = "http://127.0.0.1:1",
        });

    [Fact]
    public async Task It_subscribes_to_both_topics_and_builds_its_table_and_member_list_from_deliveries()
    {
        await using GatewayHost gateway = await StartDaprGateway();
        using JsonDocument subscriptions = JsonDocument.Parse(await gateway.Http.GetStringAsync("/dapr/subscribe"));
        Assert.Equal(["membership", "meta-range"], subscriptions.RootElement.EnumerateArray().Select(e => e.GetProperty("topic").GetString()!).Order());

        var split = new
        {
            shardCount = 64,
            descriptors = new[]
            {
                new { id = "0000000000000001", startShard = 0, endShard = 32, replicas = new[] { "stemedb-node-1", "stemedb-node-2" }, generation = 1, timestamp = 1UL << 20, proposer = "stemedb-node-1" },
                new { id = "00000000000000aa", startShard = 32, endShard = 64, replicas = new[] { "stemedb-node-2", "stemedb-node-1" }, generation = 1, timestamp = 1UL << 20, proposer = "stemedb-node-1" },
            },
        };
        Assert.Equal("SUCCESS", await Deliver(gateway, "meta-range", split));
        Assert.Equal("SUCCESS", await Deliver(gateway, "meta-range", split)); // duplicates are normal
        var joined = new
        {
            key = "stemedb-node-2@7/alive",
            kind = "joined",
            memberId = "stemedb-node-2",
            appId = "stemedb-node-2",
            httpAddress = "http://127.0.0.1:5002",
            swimAddress = "127.0.0.1:7947",
            state = "alive",
            incarnation = 7,
            observedBy = "stemedb-node-1",
            time = DateTimeOffset.UnixEpoch,
        };
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", joined));
        Assert.Equal("DROP", await Deliver(gateway, "membership", new { kind = "joined" }));

        List<JsonElement> ranges = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!;
        Assert.Equal([0, 32], ranges.Select(r => r.GetProperty("startShard").GetInt32()));
        List<JsonElement> members = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!;
        Assert.Contains(members, m => m.GetProperty("id").GetString() == "stemedb-node-2" && m.GetProperty("state").GetString() == "alive");
    }

    private static async Task<string> Deliver(GatewayHost gateway, string topic, object data)
    {
        var envelope = new { specversion = "1.0", id = Guid.NewGuid().ToString(), source = "stemedb-node-1", type = "com.dapr.event.sent", datacontenttype = "application/json", topic, pubsubname = "pubsub", data };
        using var content = new StringContent(JsonSerializer.Serialize(envelope, JsonSerializerOptions.Web), Encoding.UTF8, "application/cloudevents+json");
        using HttpResponseMessage response = await gateway.Http.PostAsync($"/events/{topic}", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()!;
    }

    [Fact]
    public async Task Nodes_are_invoked_by_app_id_through_the_configured_sidecar_endpoint()
    {
        var calls = new ConcurrentQueue<string>();
        await using WebApplication sidecar = await StartSidecarAsync(["stemedb-node-1"], calls, (_, _) => Results.NotFound());
        await using GatewayHost gateway = await StartGatewayBehindAsync(sidecar);
        await gateway.WaitReadyAsync();
        Assert.Contains("stemedb-node-1 internal/v1/meta-range", calls);
        Assert.Contains("stemedb-node-1 internal/v1/members", calls);
    }

    [Fact]
    public async Task A_sidecar_that_cannot_reach_the_leader_sends_the_read_to_the_next_replica()
    {
        // The sidecar answers for a dead app with Dapr's 500 ERR_DIRECT_INVOKE (reference dapr.md §3).
        var calls = new ConcurrentQueue<string>();
        await using WebApplication sidecar = await StartSidecarAsync(["stemedb-node-1", "stemedb-node-2"], calls, (app, _) => app == "stemedb-node-1"
            ? Results.Json(new { errorCode = "ERR_DIRECT_INVOKE", message = "failed to invoke, id: stemedb-node-1, err: connection refused" }, statusCode: 500)
            : Results.Ok(new[] { new { id = "a1", subject = "s", predicate = "p", @object = 1, assertedAt = 1 } }));
        await using GatewayHost gateway = await StartGatewayBehindAsync(sidecar);
        await gateway.WaitReadyAsync();

        // node-1 leads (first replica); its sidecar's failure must send the read on to node-2.
        using HttpResponseMessage read = await gateway.Http.GetAsync("/v1/subjects/s/assertions");
        Assert.Equal(System.Net.HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("a1", Assert.Single((await read.Content.ReadFromJsonAsync<List<JsonElement>>())!).GetProperty("id").GetString());
        Assert.Contains("stemedb-node-1 internal/v1/query", calls);
        Assert.Contains("stemedb-node-2 internal/v1/query", calls);
    }

    [Fact]
    public async Task An_open_sidecar_breaker_sends_the_request_on_without_demoting_the_node()
    {
        // daprd's breakers count the apps' own 4xx/5xx answers: an open one says nothing about reachability.
        var calls = new ConcurrentQueue<string>();
        await using WebApplication sidecar = await StartSidecarAsync(["stemedb-node-1", "stemedb-node-2"], calls, (app, _) => app == "stemedb-node-1"
            ? Results.Json(new { errorCode = "ERR_DIRECT_INVOKE", message = "failed to invoke, id: stemedb-node-1, err: circuit breaker is open" }, statusCode: 500)
            : Results.Ok(Array.Empty<object>()));
        await using GatewayHost gateway = await StartGatewayBehindAsync(sidecar);
        await gateway.WaitReadyAsync();

        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage read = await gateway.Http.GetAsync("/v1/subjects/s/assertions");
            Assert.Equal(System.Net.HttpStatusCode.OK, read.StatusCode);
        }

        // Not demoted: every read still asks the leader first.
        Assert.Equal(3, calls.Count(c => c == "stemedb-node-1 internal/v1/query"));
        Assert.Equal(3, calls.Count(c => c == "stemedb-node-2 internal/v1/query"));
    }

    [Fact]
    public async Task A_nodes_own_503s_are_neither_resent_to_it_nor_counted_toward_a_breaker()
    {
        // A node's 503 "no read quorum from here" means: ask another replica. One retry layer (the owner
        // client's) sends it on; nothing below it resends it to the same node or counts it as a failure.
        var calls = new ConcurrentQueue<string>();
        await using WebApplication sidecar = await StartSidecarAsync(["stemedb-node-1", "stemedb-node-2"], calls, (app, _) => app == "stemedb-node-1"
            ? Results.Json(new Dictionary<string, object> { ["title"] = "Read quorum not reached", ["status"] = 503, [StemeDb.Contracts.Wire.Misdirected.RetryElsewhereField] = true }, statusCode: 503, contentType: "application/problem+json")
            : Results.Ok(Array.Empty<object>()));
        await using GatewayHost gateway = await StartGatewayBehindAsync(sidecar);
        await gateway.WaitReadyAsync();

        const int reads = 120; // more than a standard resilience handler's breaker needs to open (100 calls)
        for (int i = 0; i < reads; i++)
        {
            using HttpResponseMessage read = await gateway.Http.GetAsync($"/v1/subjects/s{i}/assertions");
            Assert.Equal(System.Net.HttpStatusCode.OK, read.StatusCode);
        }

        Assert.Equal(reads, calls.Count(c => c == "stemedb-node-1 internal/v1/query"));
        Assert.Equal(reads, calls.Count(c => c == "stemedb-node-2 internal/v1/query"));
    }

    [Fact]
    public async Task A_method_the_sidecar_refuses_is_a_bad_gateway_problem_and_demotes_nobody()
    {
        var calls = new ConcurrentQueue<string>();
        await using WebApplication sidecar = await StartSidecarAsync(["stemedb-node-1", "stemedb-node-2"], calls, (app, _) =>
            Results.Json(new { errorCode = "ERR_DIRECT_INVOKE", message = $"failed to invoke, id: {app}, err: invalid method: contains reserved characters" }, statusCode: 500));
        await using GatewayHost gateway = await StartGatewayBehindAsync(sidecar);
        await gateway.WaitReadyAsync();

        using HttpResponseMessage read = await gateway.Http.GetAsync("/v1/subjects/s/assertions");
        Assert.Equal(System.Net.HttpStatusCode.BadGateway, read.StatusCode);
        Assert.Equal("application/problem+json", read.Content.Headers.ContentType?.MediaType);
        Assert.Contains("invalid method", await read.Content.ReadAsStringAsync());
        Assert.DoesNotContain("stemedb-node-2 internal/v1/query", calls);
        List<JsonElement> ranges = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!;
        Assert.Equal("stemedb-node-1", Assert.Single(ranges).GetProperty("leader").GetString());
    }

    [Fact]
    public async Task Member_events_apply_by_incarnation_whatever_order_they_arrive_in()
    {
        await using GatewayHost gateway = await StartDaprGateway();
        object Event(string kind, string state, uint incarnation) => new
        {
            key = $"stemedb-node-2@{incarnation}/{state}",
            kind,
            memberId = "stemedb-node-2",
            appId = "stemedb-node-2",
            httpAddress = "http://127.0.0.1:5002",
            swimAddress = "127.0.0.1:7947",
            state,
            incarnation,
            observedBy = "stemedb-node-1",
            time = DateTimeOffset.UnixEpoch,
        };

        async Task<string> StateAsync() =>
            (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!.Single(m => m.GetProperty("id").GetString() == "stemedb-node-2").GetProperty("state").GetString()!;

        // A broker replays and reorders: the death at incarnation 9 arrives before the older news.
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("dead", "dead", 9)));
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("joined", "alive", 8)));
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("alive", "alive", 9)));
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("suspect", "suspect", 9)));
        Assert.Equal("dead", await StateAsync());

        // It restarted (a higher incarnation): alive, and an older suspicion delivered late changes nothing.
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("joined", "alive", 10)));
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("suspect", "suspect", 9)));
        Assert.Equal("alive", await StateAsync());
        Assert.Equal("SUCCESS", await Deliver(gateway, "membership", Event("suspect", "suspect", 10)));
        Assert.Equal("suspect", await StateAsync());
    }

    /// <summary>
    /// A stand-in for the sidecar's HTTP invoke API (/v1.0/invoke/{app-id}/method/{path}) in front of a
    /// one-range cluster replicated by <paramref name="replicas"/>; every call is recorded as "app path",
    /// and calls other than the routing snapshot go to <paramref name="other"/>.
    /// </summary>
    private static async Task<WebApplication> StartSidecarAsync(string[] replicas, ConcurrentQueue<string> calls, Func<string, string, IResult> other)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        WebApplication sidecar = builder.Build();
        sidecar.MapMethods("/v1.0/invoke/{app}/method/{**path}", ["GET", "POST", "DELETE"], (string app, string path) =>
        {
            calls.Enqueue($"{app} {path}");
            return path switch
            {
                "internal/v1/meta-range" => Results.Ok(new
                {
                    shardCount = 16,
                    descriptors = new[] { new { id = "0000000000000001", startShard = 0, endShard = 16, replicas, generation = 0, timestamp = 0, proposer = replicas[0] } },
                }),
                "internal/v1/members" => Results.Ok(replicas.Select((r, i) => new { id = r, appId = r, httpAddress = "http://unused", swimAddress = $"127.0.0.1:{i + 1}", state = "alive", incarnation = 1 })),
                _ => other(app, path),
            };
        });
        await sidecar.StartAsync();
        return sidecar;
    }

    private static Task<GatewayHost> StartGatewayBehindAsync(WebApplication sidecar) =>
        GatewayHost.StartAsync([], new()
        {
            ["Gateway:Transport"] = "Dapr",
            ["Gateway:Seeds:0"] = "stemedb-node-1",
            ["DAPR_HTTP_ENDPOINT"] = sidecar.Urls.First(),
            ["DAPR_GRPC_ENDPOINT"] = "http://127.0.0.1:1",
        });
}
