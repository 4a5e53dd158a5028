using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;
using StemeDb.Dapr.Testing;
using Xunit.Abstractions;
using StemeDb.Testing;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// The Dapr path with the built apps as separate processes: 10 000 assertions through the gateway, every
/// one read back; a node process killed, every one still readable; meta-range changes (splits) delivered
/// by a broker that duplicates 10 %, reorders and loses 5 %, and all tables still converge. API tokens
/// are on both ways (DAPR_API_TOKEN toward each sidecar, APP_API_TOKEN toward each node). The sidecars
/// apply the shipped resiliency and pub/sub components; the subjects a path cannot carry round-trip; a
/// gateway restarted under a replayed, reordered membership stream ends with the right member view.
/// </summary>
public sealed class DaprPathTests(ITestOutputHelper output)
{
    private const int Count = 10_000;
    private const int Concurrency = 8;
    private static readonly string Filler = new('x', 1000); // ~11 MB per replica: the genesis range splits several times while the writes go on

    [Fact]
    public async Task Ten_thousand_assertions_survive_a_killed_node_and_tables_converge_over_a_lossy_broker()
    {
        var broker = new StandInBroker(seed: 11) { Duplicates = 0.10, Loss = 0.05, MaxDelay = TimeSpan.FromMilliseconds(300) };
        await using DaprProcessCluster cluster = await DaprProcessCluster.StartAsync(broker, splitThresholdBytes: 1 << 20);
        using var http = new HttpClient { BaseAddress = cluster.GatewayUrl, Timeout = TimeSpan.FromSeconds(15) };
        try
        {
            // What the running apps declared at /dapr/subscribe is what components/pubsub.yaml lets them subscribe to.
            Dictionary<string, string> pubsub = Yaml.ComponentMetadata(Yaml.Documents("components/pubsub.yaml").Single(d => Yaml.Text(d, "kind") == "Component"));
            Dictionary<string, string[]> subscribing = Yaml.Scopes(pubsub["subscriptionScopes"]);
            foreach (StandInSidecar sidecar in cluster.Sidecars)
            {
                Assert.Equal(subscribing[sidecar.AppId], sidecar.Subscriptions.Select(s => s.Topic).Order());
            }

            var clock = Stopwatch.StartNew();
            var ids = new string[Count];
            int retried = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
            {
                for (int attempt = 1; ; attempt++)
                {
                    using var body = new StringContent($"{{\"subject\":\"e2e:{i}\",\"predicate\":\"n\",\"object\":{{\"n\":{i},\"pad\":\"{Filler}\"}}}}", Encoding.UTF8, "application/json");
                    using HttpResponseMessage response = await http.PostAsync("/v1/assertions", body, ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        ids[i] = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("ids")[0].GetString()!;
                        return;
                    }

                    // A 503/504 is not an acknowledgement; content ids make the retry idempotent.
                    Assert.True(attempt < 5 && (int)response.StatusCode >= 500, $"write {i}: {response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                    Interlocked.Increment(ref retried);
                    await Task.Delay(200, ct);
                }
            });
            output.WriteLine($"{Count} writes acknowledged in {clock.Elapsed.TotalSeconds:F1} s ({retried} retried after a 5xx)");

            Assert.Equal(0, await UnreadableAsync(http, ids, "before the kill"));

            // The writes grew the genesis range past the threshold: the split went out over the lossy broker.
            await Poll.UntilAsync(async () => (await TablesAsync(http, cluster, [0, 1, 2])).Converged is { } ranges && ranges > 1, TimeSpan.FromSeconds(60), "the range split and every node and the gateway agree on the table", step: TimeSpan.FromMilliseconds(500), diagnostics: async () => $"Tables (nodes, then the gateway):\n{(await TablesAsync(http, cluster, [0, 1, 2])).Detail}\n{cluster.Output}", retryOn: e => e is HttpRequestException);
            output.WriteLine($"ranges: {(await TablesAsync(http, cluster, [0, 1, 2])).Converged}");
            output.WriteLine($"broker: {broker.Delivered} delivered, {broker.Lost} lost, {broker.Duplicated} duplicated, {broker.Dropped} dropped by an app");
            Assert.True(broker.Lost > 0 && broker.Duplicated > 0, "the broker really lost and duplicated some deliveries");
            Dictionary<string, string[]> publishing = Yaml.Scopes(pubsub["publishingScopes"]);
            foreach (StandInSidecar sidecar in cluster.Sidecars)
            {
                Assert.All(sidecar.Published, p => Assert.Contains(p.Topic, publishing[sidecar.AppId]));
            }

            Assert.Contains(cluster.Sidecars, s => s.Published.Any(p => p.Topic == "meta-range"));

            // The splits sent bursts of 421 (range moved) through the sidecars with the shipped resiliency:
            // no breaker counted them, so the gateway never routed around a live node.
            Assert.True(cluster.GatewayProcess.Counted(DaprProcessCluster.Demotion) == 0, $"the gateway demoted a live node while the ranges split:\n{cluster.Output}");

            // Subjects a path cannot carry, through the sidecars (which decode and normalize invoked paths).
            List<string> failures = await HardSubjects.RoundTripAsync(http);
            Assert.True(failures.Count == 0, string.Join('\n', failures));

            cluster.NodeProcess(0).Kill();
            clock.Restart();
            int unreadable = await UnreadableAsync(http, ids, "after node-1 was killed");
            output.WriteLine($"read back {Count} after the kill in {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(0, unreadable);
            await Poll.UntilAsync(async () => (await TablesAsync(http, cluster, [1, 2])).Converged is not null, TimeSpan.FromSeconds(30), "the surviving nodes and the gateway agree on the table", step: TimeSpan.FromMilliseconds(500), diagnostics: async () => $"Tables (nodes, then the gateway):\n{(await TablesAsync(http, cluster, [1, 2])).Detail}\n{cluster.Output}", retryOn: e => e is HttpRequestException);
            await Poll.UntilAsync(async () => await MemberViewAsync(http) == "stemedb-node-1=dead stemedb-node-2=alive stemedb-node-3=alive", TimeSpan.FromSeconds(30), "the gateway sees node-1 dead", step: TimeSpan.FromMilliseconds(500), retryOn: e => e is HttpRequestException);

            // A restarted gateway's sidecar is a new consumer group: the broker replays the whole membership
            // stream (node-1 joining, seen by three observers, then dying), ten deliveries at a time, out of
            // order. Applied by incarnation, the view is right once the replay is done and stays right.
            int retained = cluster.Broker.Retained("pubsub", Topics.Membership);
            await cluster.RestartGatewayAsync(refreshInterval: TimeSpan.FromMinutes(2));
            await cluster.Broker.IdleAsync().WaitAsync(TimeSpan.FromSeconds(60));
            output.WriteLine($"gateway restarted; {retained} membership messages retained and replayed");
            Assert.True(retained >= 4, $"only {retained} membership messages were retained: the replay proves nothing");
            for (int sample = 0; sample < 5; sample++)
            {
                Assert.Equal("stemedb-node-1=dead stemedb-node-2=alive stemedb-node-3=alive", await MemberViewAsync(http));
                await Task.Delay(500);
            }

            List<JsonElement> sampled = (await http.GetFromJsonAsync<List<JsonElement>>("/v1/subjects/e2e%3A7/assertions"))!;
            Assert.Contains(sampled, a => a.GetProperty("id").GetString() == ids[7]);
        }
        // A failed wait already carries the output (its diagnostics); anything else gets it here.
        catch (Exception e) when (e is not (Xunit.Sdk.XunitException or TimeoutException))
        {
            throw new InvalidOperationException(cluster.Output, e);
        }
    }

    /// <summary>The gateway's member list as "id=state" pairs in id order.</summary>
    private static async Task<string> MemberViewAsync(HttpClient gateway) =>
        string.Join(' ', (await gateway.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!
            .Select(m => $"{m.GetProperty("id").GetString()}={m.GetProperty("state").GetString()}").Order(StringComparer.Ordinal));

    /// <summary>Reads every subject back through the gateway; a read may be retried twice (a request in flight to the killed node). Returns the misses.</summary>
    private async Task<int> UnreadableAsync(HttpClient http, string[] ids, string when)
    {
        int missing = 0;
        int retried = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Length), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            for (int attempt = 1; attempt <= 3; attempt++)
            {
                using HttpResponseMessage response = await http.GetAsync($"/v1/subjects/e2e%3A{i}/assertions", ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    List<JsonElement> found = (await response.Content.ReadFromJsonAsync<List<JsonElement>>(ct))!;
                    if (found.Any(a => a.GetProperty("id").GetString() == ids[i]))
                    {
                        return;
                    }
                }

                Interlocked.Increment(ref retried);
                await Task.Delay(500, ct);
            }

            Interlocked.Increment(ref missing);
        });
        output.WriteLine($"{when}: {ids.Length - missing} of {ids.Length} read back ({retried} reads retried)");
        return missing;
    }

    /// <summary>The range count when the given nodes and the gateway hold the same table, else null.</summary>
    private static async Task<(int? Converged, string Detail)> TablesAsync(HttpClient gateway, DaprProcessCluster cluster, int[] nodes)
    {
        var views = new List<string>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (int n in nodes)
        {
            // The node accepts only calls with its app token (what its sidecar adds); the test speaks as the sidecar.
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(cluster.NodeUrls[n], InternalRoutes.MetaRange));
            request.Headers.Add("dapr-api-token", cluster.Sidecars[n].AppApiToken);
            using HttpResponseMessage response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            MetaRangeDto table = (await response.Content.ReadFromJsonAsync<MetaRangeDto>())!;
            views.Add(string.Join(' ', table.Descriptors.OrderBy(d => d.StartShard).Select(d => $"{d.Id}@{d.Generation}[{string.Join(',', d.Replicas.Order())}]").Distinct()));
        }

        List<JsonElement> ranges = (await gateway.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!;
        views.Add(string.Join(' ', ranges.OrderBy(r => r.GetProperty("startShard").GetInt32())
            .Select(r => $"{r.GetProperty("id").GetString()}@{r.GetProperty("generation").GetInt64()}[{string.Join(',', r.GetProperty("replicas").EnumerateArray().Select(x => x.GetString()).Order())}]").Distinct()));
        return (views.Distinct().Count() == 1 ? ranges.Count : null, string.Join('\n', views));
    }
}
