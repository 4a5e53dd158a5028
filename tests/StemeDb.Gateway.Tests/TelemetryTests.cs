using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using OpenTelemetry.Trace;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>What an operator scrapes and traces: the metric families with values that move, and one trace per write across gateway, leader and replicas.</summary>
[Collection(LoopbackClusters.Name)]
public sealed partial class TelemetryTests
{
    /// <summary>Once the gateway is ready, <paramref name="count"/> subjects <c>{prefix}:{i}</c> written and read through it.</summary>
    private static async Task WriteAndReadAsync(GatewayHost gateway, string prefix, int count)
    {
        await gateway.WaitReadyAsync();
        for (int i = 0; i < count; i++)
        {
            using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", new StringContent($"{{\"subject\":\"{prefix}:{i}\",\"predicate\":\"name\",\"object\":{i}}}", Encoding.UTF8, "application/json"));
            Assert.True(written.IsSuccessStatusCode);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync($"/v1/assertions?subject={prefix}%3A{i}")).StatusCode);
        }
    }

    [Fact]
    public async Task After_writes_reads_and_a_death_the_scrapes_hold_the_families_with_values_that_moved()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await WriteAndReadAsync(gateway, "user", 20);

        await cluster.SplitGenesisInHalfAsync();
        await cluster.KillAsync(2);
        await Poll.UntilAsync(() => Task.FromResult(cluster.Node(0).Swim.Find(new("stemedb-node-3"))?.IsActive == false), TimeSpan.FromSeconds(20), "node-3 is dead to node-1");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var samples = new List<(string Name, Dictionary<string, string> Labels, double Value)>();
        foreach (Uri node in cluster.Urls.Take(2))
        {
            samples.AddRange(Parse(await http.GetStringAsync(new Uri(node, "/metrics"))));
        }

        // Each node is in its own scrape only (node-3, dead, is not scraped: it led nothing here).
        double Sum(string name, Func<Dictionary<string, string>, bool>? where = null) =>
            samples.Where(s => s.Name == name && (where?.Invoke(s.Labels) ?? true))
                .GroupBy(s => (s.Labels.GetValueOrDefault("stemedb_node"), string.Join(",", s.Labels.OrderBy(l => l.Key).Select(l => l.Key + "=" + l.Value))))
                .Sum(g => g.First().Value);

        Assert.True(Sum("stemedb_swim_probes_total") > 0, "probes were counted");
        Assert.True(Sum("stemedb_swim_deaths_total") >= 1, "the death of node-3 was counted");
        Assert.True(Sum("stemedb_swim_datagrams_received_total") > Sum("stemedb_swim_probes_total"), "datagrams in outnumber probes out (acks, gossip, push-pull)");
        Assert.True(Sum("stemedb_swim_members", l => l.GetValueOrDefault("stemedb_node") == "stemedb-node-1" && l.GetValueOrDefault("state") == "dead") == 1, "node-1 counts one dead member");
        Assert.True(Sum("stemedb_write_quorum_duration_seconds_count", l => l.GetValueOrDefault("outcome") == "ok") >= 20, "20 quorum writes");
        Assert.True(Sum("stemedb_read_quorum_duration_seconds_count", l => l.GetValueOrDefault("outcome") == "ok") >= 20, "20 quorum reads");
        Assert.True(Sum("stemedb_store_commit_entries_count") >= 20, "group commits of the writes");
        Assert.True(Sum("stemedb_ranges", l => l.GetValueOrDefault("stemedb_node") == "stemedb-node-1" && l.GetValueOrDefault("scope") == "table") >= 1, "the range table");
        Assert.True(Sum("stemedb_store_bytes", l => l.GetValueOrDefault("stemedb_node") == "stemedb-node-1") > 0, "bytes stored");
        Assert.True(samples.Any(s => s.Name == "http_server_request_duration_seconds_count" && s.Value > 0), "ASP.NET Core's server metrics");
        Assert.True(Sum("stemedb_consensus_proposals_total", l => l.GetValueOrDefault("kind") == "split" && l.GetValueOrDefault("outcome") == "decided") == 1, "the split, decided");
        Assert.True(Sum("stemedb_consensus_duration_seconds_count", l => l.GetValueOrDefault("kind") == "split") == 1, "its duration");
        Assert.Equal(2, samples.Where(s => s.Name == "stemedb_range_bytes" && s.Labels.GetValueOrDefault("stemedb_node") == "stemedb-node-1").Select(s => s.Labels["range"]).Distinct().Count());
        Assert.True(Sum("stemedb_range_bytes", l => l.GetValueOrDefault("stemedb_node") == "stemedb-node-1") > 0, "bytes per led range");
        // A rate per led range (the load window is 10 s, so its value may still be 0 here).
        Assert.Equal(2, samples.Where(s => s.Name == "stemedb_range_request_rate_per_second" && s.Labels.GetValueOrDefault("stemedb_node") == "stemedb-node-1").Select(s => s.Labels["range"]).Distinct().Count());

        List<(string Name, Dictionary<string, string> Labels, double Value)> fromGateway = [.. Parse(await gateway.Http.GetStringAsync("/metrics"))];
        Assert.True(fromGateway.Where(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/v1/assertions").Sum(s => s.Value) >= 40, string.Join("\n", fromGateway.Where(s => s.Name.StartsWith("http_server", StringComparison.Ordinal)).Select(s => $"{s.Name} {string.Join(",", s.Labels)} {s.Value}")));
        Assert.Contains(fromGateway, s => s.Name == "http_client_request_duration_seconds_count" && s.Value > 0);
    }

    /// <summary>
    /// Several apps in one process (as here, and in the embedded cluster): each app's scrape counts its own
    /// requests and its own node, not every app's (which also recorded every measurement once per app).
    /// </summary>
    [Fact]
    public async Task Each_app_in_a_shared_process_scrapes_only_its_own_measurements()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await WriteAndReadAsync(gateway, "own", 10);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        for (int n = 0; n < 3; n++)
        {
            var samples = Parse(await http.GetStringAsync(new Uri(cluster.Urls[n], "/metrics"))).ToList();
            string[] nodes = [.. samples.Select(s => s.Labels.GetValueOrDefault("stemedb_node")).OfType<string>().Distinct()];
            Assert.Equal([$"stemedb-node-{n + 1}"], nodes);
            // A node serves only the internal API: the public routes are the gateway's.
            Assert.DoesNotContain(samples, s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route", "").StartsWith("/v1/", StringComparison.Ordinal));
        }

        var fromGateway = Parse(await gateway.Http.GetStringAsync("/metrics")).ToList();
        Assert.DoesNotContain(fromGateway, s => s.Labels.ContainsKey("stemedb_node"));
        Assert.DoesNotContain(fromGateway, s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route", "").StartsWith("/internal/", StringComparison.Ordinal));
        Assert.Equal(10, fromGateway.Where(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/v1/assertions" && s.Labels.GetValueOrDefault("http_request_method") == "POST").Sum(s => s.Value));
    }

    [Fact]
    public async Task A_write_is_one_trace_from_the_gateway_through_the_leader_to_each_replica()
    {
        var spans = new List<Activity>();
        await using NodeCluster cluster = await NodeCluster.StartAsync(3, new() { [StemeDb.Hosting.Telemetry.TracingSetting] = "true" }, perNodeServices: i => i == 0 ? s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)) : null);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();

        using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", new StringContent("{\"subject\":\"user:42\",\"predicate\":\"name\",\"object\":\"Ada\"}", Encoding.UTF8, "application/json"));
        Assert.True(written.IsSuccessStatusCode);
        string leader = written.Headers.GetValues("X-StemeDb-Node").Single();

        // The third replica may store its copy after the answer: wait for its span too.
        Activity[] Trace()
        {
            lock (spans)
            {
                Activity? root = spans.LastOrDefault(a => a.Kind == ActivityKind.Server && Port(a) == gateway.Url.Port && (a.GetTagItem("url.path") as string) == "/v1/assertions");
                return root is null ? [] : [.. spans.Where(a => a.TraceId == root.TraceId)];
            }
        }

        int[] replicaPorts = [.. cluster.Urls.Where((u, i) => $"stemedb-node-{i + 1}" != leader).Select(u => u.Port)];
        int leaderPort = cluster.Urls[int.Parse(leader["stemedb-node-".Length..], CultureInfo.InvariantCulture) - 1].Port;
        await Poll.UntilAsync(
            () => Task.FromResult(replicaPorts.All(p => Trace().Any(a => a.Kind == ActivityKind.Server && Port(a) == p && (a.GetTagItem("url.path") as string) == "/internal/v1/replicate"))),
            TimeSpan.FromSeconds(10),
            "a replicate span on each replica in the write's trace",
            diagnostics: () => Task.FromResult(string.Join("\n", Trace().Select(a => $"{a.Kind} {a.DisplayName} port {Port(a)}"))));
        Activity[] trace = Trace();
        Assert.Contains(trace, a => a.Kind == ActivityKind.Server && Port(a) == leaderPort && (a.GetTagItem("url.path") as string) == "/internal/v1/assertions");
        Assert.Contains(trace, a => a.DisplayName == "quorum write" && a.Source.Name == "StemeDb.Node");
        // The store's span on the leader and on each replica (it ends once the group commit is durable).
        await Poll.UntilAsync(() => Task.FromResult(Trace().Count(a => a.DisplayName == "store write") == 3), TimeSpan.FromSeconds(10), "a store write span on each of the three replicas");
        // A client span ends when its answer has been read, which can be after the server's span ended: poll for both.
        static bool ReplicateCall(Activity a) => a.Kind == ActivityKind.Client && (a.GetTagItem("url.full") as string ?? "").EndsWith("/internal/v1/replicate", StringComparison.Ordinal);
        await Poll.UntilAsync(() => Task.FromResult(Trace().Count(ReplicateCall) >= 2), TimeSpan.FromSeconds(10), "the leader's replicate call to each replica");
        Assert.Equal(2, Trace().Count(ReplicateCall));
    }

    private static int? Port(Activity a) => a.GetTagItem("server.port") switch
    {
        int p => p,
        long p => (int)p,
        string p when int.TryParse(p, CultureInfo.InvariantCulture, out int q) => q,
        _ => null,
    };

    private static IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Parse(string exposition)
    {
        foreach (string line in exposition.Split('\n'))
        {
            Match m = SampleLine().Match(line);
            if (!m.Success)
            {
                continue;
            }

            var labels = LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            yield return (m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>[-+0-9.eE]+|NaN|\+Inf|-Inf)(\s+\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LabelPair();
}
