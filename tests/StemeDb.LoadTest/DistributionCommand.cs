using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Contracts;

namespace StemeDb.LoadTest;

/// <summary>
/// <c>distribution</c>: fresh 3- and 5-node clusters (every node a founder, the default pre-split genesis),
/// uniform closed-loop load through the gateway, then per node: ranges replicated, ranges led, and requests
/// coordinated (counted from the node header of every answer the gateway relayed). The target: the busiest
/// node holds at most 1/N + 10 % of leaders and of requests.
/// </summary>
public static class DistributionCommand
{
    private const double Slack = 0.10;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        int seconds = LoadOptions.IntOption(args, "--duration", 10);
        int keys = LoadOptions.IntOption(args, "--keys", 10_000);
        bool met = true;
        var report = new List<object>();
        foreach (int nodes in new[] { 3, 5 })
        {
            var served = new ConcurrentDictionary<string, long>();
            using var http = new HttpClient(new ServedByCounter(served) { InnerHandler = new SocketsHttpHandler { MaxConnectionsPerServer = 256 } }) { Timeout = TimeSpan.FromSeconds(10) };
            await using BenchCluster cluster = await BenchCluster.StartAsync(nodes, dapr: false, founders: nodes);
            await CompareCommand.PreloadAsync(http, cluster.GatewayUrl, keys);
            served.Clear();
            var options = new LoadOptions { Target = cluster.GatewayUrl, Api = "gateway", Clients = 16, Duration = TimeSpan.FromSeconds(seconds), Keys = keys, ReadRatio = 0.9 };
            LoadResult result = await new LoadRunner(options, http, null).RunAsync(cancellationToken);
            List<JsonElement> ranges = (await http.GetFromJsonAsync<List<JsonElement>>(new Uri(cluster.GatewayUrl, "/v1/cluster/ranges"), cancellationToken))!;

            string[] ids = [.. Enumerable.Range(1, nodes).Select(i => $"stemedb-node-{i}")];
            long requests = served.Values.Sum();
            double leaderShare = ids.Max(id => ranges.Count(r => r.GetProperty("leader").GetString() == id)) / (double)ranges.Count;
            double requestShare = requests == 0 ? 1 : ids.Max(id => served.GetValueOrDefault(id)) / (double)requests;
            double bound = (1.0 / nodes) + Slack;
            met &= leaderShare <= bound && requestShare <= bound;

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{nodes} nodes, {ranges.Count} ranges, 16 clients, 90 % reads, {seconds} s: {result}"));
            Console.WriteLine("| node | ranges replicated | ranges led | requests coordinated | share of requests |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            foreach (string id in ids)
            {
                int replicated = ranges.Count(r => r.GetProperty("replicas").EnumerateArray().Any(x => x.GetString() == id));
                int led = ranges.Count(r => r.GetProperty("leader").GetString() == id);
                long count = served.GetValueOrDefault(id);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {id} | {replicated} | {led} | {count} | {(requests == 0 ? 0 : (double)count / requests):P1} |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"busiest node: {leaderShare:P1} of leaders, {requestShare:P1} of requests; bound 1/{nodes} + 10 % = {bound:P1}: {(leaderShare <= bound && requestShare <= bound ? "met" : "missed")}"));
            report.Add(new { nodes, ranges = ranges.Count, leaderShare, requestShare, bound, result });
        }

        Console.WriteLine(JsonSerializer.Serialize(report, JsonSerializerOptions.Web));
        return met ? 0 : 3;
    }

    /// <summary>Counts answers by the node that coordinated them (the gateway relays the node header).</summary>
    private sealed class ServedByCounter(ConcurrentDictionary<string, long> served) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues(InternalHeaderNames.Node, out IEnumerable<string>? nodes))
            {
                served.AddOrUpdate(nodes.First(), 1, (_, n) => n + 1);
            }

            return response;
        }
    }
}
