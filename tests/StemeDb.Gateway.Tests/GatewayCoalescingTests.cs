using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Contracts;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// The gateway's reads and writes bound for the same node travel together while that node is busy
/// (<see cref="Hosting.CoalescingHandler"/>, <c>BatchApi</c> on the node): real nodes, a real gateway, the
/// leader's first two reads held at the leader so that the next ones wait; they then reach it as one batch,
/// and every client gets its own answer.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class GatewayCoalescingTests
{
    [Fact]
    public async Task Requests_waiting_for_a_busy_node_reach_it_as_one_batch_and_each_gets_its_own_answer()
    {
        var held = new HeldRequests(InternalRoutes.Query);
        await using NodeCluster cluster = await NodeCluster.StartAsync(3, perNodeServices: i => i == 0 ? s => s.AddSingleton<IStartupFilter>(held) : null);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls, new() { ["Gateway:RequestTimeout"] = "00:00:20" });
        await gateway.WaitReadyAsync();

        // One range, led by node-1: every read goes to node-1 first.
        var ids = new Dictionary<string, string>();
        for (int i = 0; i < 12; i++)
        {
            using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", new StringContent($"{{\"subject\":\"together:{i}\",\"predicate\":\"p\",\"object\":{i}}}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, written.StatusCode);
            ids[$"together:{i}"] = JsonDocument.Parse(await written.Content.ReadAsStringAsync()).RootElement.GetProperty("ids")[0].GetString()!;
        }

        held.Hold = true;
        Task<HttpResponseMessage>[] first = [.. Enumerable.Range(0, 2).Select(i => gateway.Http.GetAsync($"/v1/assertions?subject=together%3A{i}"))];
        await Poll.UntilAsync(() => Task.FromResult(held.Waiting == 2), TimeSpan.FromSeconds(10), "node-1 holds the first two reads");
        Task<HttpResponseMessage>[] rest = [.. Enumerable.Range(2, 10).Select(i => gateway.Http.GetAsync($"/v1/assertions?subject=together%3A{i}"))];
        await Task.Delay(300); // the ten wait in the gateway for one of the two calls out to node-1
        Assert.Equal(0, held.Count(InternalRoutes.Batch));
        held.Hold = false;

        HttpResponseMessage[] answers = await Task.WhenAll([.. first, .. rest]);
        for (int i = 0; i < answers.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, answers[i].StatusCode);
            JsonElement read = JsonDocument.Parse(await answers[i].Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(ids[$"together:{i}"], read[0].GetProperty("id").GetString());
            Assert.Equal("stemedb-node-1", answers[i].Headers.GetValues(InternalHeaderNames.Node).Single());
        }

        Assert.Equal(1, held.Count(InternalRoutes.Batch));
        Assert.Equal(2 + 12, held.Count(InternalRoutes.Write) + held.Count(InternalRoutes.Query)); // 12 writes alone, the first two reads alone
    }

    /// <summary>Holds a node's requests of one route while <see cref="Hold"/> is set, and counts its requests by path.</summary>
    private sealed class HeldRequests(string route) : IStartupFilter
    {
        private readonly ConcurrentDictionary<string, int> _counts = new();
        private int _waiting;

        public volatile bool Hold;

        public int Waiting => Volatile.Read(ref _waiting);

        public int Count(string path) => _counts.GetValueOrDefault(path);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (HttpContext context, RequestDelegate after) =>
            {
                string path = context.Request.Path.Value ?? "";
                _counts.AddOrUpdate(path, 1, (_, n) => n + 1);
                if (path == route && Hold)
                {
                    Interlocked.Increment(ref _waiting);
                    for (int i = 0; i < 400 && Hold; i++)
                    {
                        await Task.Delay(50);
                    }
                }

                await after(context);
            });
            next(app);
        };
    }
}
