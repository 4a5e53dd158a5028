using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Cluster.Sharding;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Node;

namespace StemeDb.LoadTest;

/// <summary>
/// Range behaviour under load (README "Performance"): one range grown past the real 64 MiB split
/// threshold while clients read and write through the gateway, then a split pair merged while they do.
/// Reports how long each took as the gateway saw it and every failed request.
/// </summary>
public static class RangesCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };
        var split = await SplitAsync(http);
        var merge = await MergeAsync(http);
        Console.WriteLine(JsonSerializer.Serialize(new { split, merge }, JsonSerializerOptions.Web));
        return split.Failed + merge.Failed == 0 ? 0 : 3;
    }

    private static async Task<RangeEvent> SplitAsync(HttpClient http)
    {
        // One range to start with (a new cluster is pre-split), split only by size: the load split would split it first.
        await using BenchCluster cluster = await BenchCluster.StartAsync(3, dapr: false, new Dictionary<string, string?>
        {
            ["Node:RangeCheckInterval"] = "00:00:01",
            ["Cluster:Sharding:InitialRanges"] = "1",
            ["Cluster:Sharding:SplitRequestRate"] = "1000000",
        });
        await CompareCommand.PreloadAsync(http, cluster.GatewayUrl, 1000);
        await using var load = new Load(http, cluster.GatewayUrl, writers: 2, batch: 64, objectBytes: 4096);
        var clock = Stopwatch.StartNew();
        TimeSpan? crossed = null;
        TimeSpan? split = null;
        long biggest = 0;
        while (clock.Elapsed < TimeSpan.FromMinutes(5) && (split is null || clock.Elapsed < split + TimeSpan.FromSeconds(5)))
        {
            List<JsonElement> ranges = (await http.GetFromJsonAsync<List<JsonElement>>(new Uri(cluster.GatewayUrl, "/v1/cluster/ranges")))!;
            long size = ranges.Max(r => r.TryGetProperty("sizeBytes", out JsonElement s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : 0);
            biggest = Math.Max(biggest, size);
            if (crossed is null && size > 64L << 20)
            {
                crossed = clock.Elapsed;
                load.Mark();
            }

            if (split is null && ranges.Count > 1)
            {
                split = clock.Elapsed;
                crossed ??= clock.Elapsed; // the size poll missed the moment: the split itself proves it
                load.Mark();
                Console.Error.WriteLine($"split at {split.Value.TotalSeconds:F1} s: {string.Join(", ", ranges.Select(r => $"[{r.GetProperty("startShard")}, {r.GetProperty("endShard")}) {r.GetProperty("sizeBytes")} B"))}");
            }

            await Task.Delay(100);
        }

        (int requests, int failed, int failedInWindow) = await load.StopAsync();
        var result = new RangeEvent("split of a range grown past 64 MiB", requests, failed, failedInWindow, crossed, split, biggest);
        Console.Error.WriteLine(result);
        return split is null ? throw new InvalidOperationException($"no split within 5 minutes (largest range {biggest} B)") : result;
    }

    private static async Task<RangeEvent> MergeAsync(HttpClient http)
    {
        await using BenchCluster cluster = await BenchCluster.StartAsync(3, dapr: false, new Dictionary<string, string?>
        {
            ["Node:RangeCheckInterval"] = "00:00:01",
            ["Cluster:Sharding:InitialRanges"] = "1", // the one range an operator then splits
            ["Cluster:Sharding:SplitThresholdBytes"] = (4 << 20).ToString(CultureInfo.InvariantCulture),
            ["Cluster:Sharding:MergeThresholdBytes"] = (2 << 20).ToString(CultureInfo.InvariantCulture),
            ["Cluster:Sharding:StrandedRangeBytes"] = (1 << 20).ToString(CultureInfo.InvariantCulture),
            ["Cluster:Sharding:MergeCooldown"] = "00:00:02",
        });
        await CompareCommand.PreloadAsync(http, cluster.GatewayUrl, 1000);
        await using var load = new Load(http, cluster.GatewayUrl, writers: 1, batch: 1, objectBytes: 64);
        await Task.Delay(2000);

        // An operator's pre-split of the one range; both halves are far below the merge threshold, so the
        // leader merges them back once the cooldown has passed.
        ClusterNode node = cluster.Node(0);
        RangeDescriptor whole = node.Table.Current.Entries[0].Descriptor;
        int middle = whole.EndShard / 2;
        var now = node.Clock.Now();
        await cluster.Services(0).GetRequiredService<DescriptorProposer>().ProposeAsync(
            new StemeDb.Cluster.Consensus.DescriptorChange(RangeChangeKind.Split, [whole], [
                new RangeDescriptor(whole.Id, 0, middle, whole.Replicas, whole.Generation + 1, now, node.Id),
                new RangeDescriptor(RangeId.Derive(whole.Id, whole.Generation + 1, middle), middle, whole.EndShard, whole.Replicas, whole.Generation + 1, now, node.Id)]),
            "an operator's pre-split",
            CancellationToken.None);
        var clock = Stopwatch.StartNew();
        TimeSpan? two = null;
        TimeSpan? merged = null;
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && (merged is null || clock.Elapsed < merged + TimeSpan.FromSeconds(5)))
        {
            int count = (await http.GetFromJsonAsync<List<JsonElement>>(new Uri(cluster.GatewayUrl, "/v1/cluster/ranges")))!.Count;
            if (two is null && count == 2)
            {
                two = clock.Elapsed;
                load.Mark();
            }

            if (two is not null && merged is null && count == 1)
            {
                merged = clock.Elapsed;
                load.Mark();
            }

            await Task.Delay(50);
        }

        (int requests, int failed, int failedInWindow) = await load.StopAsync();
        var result = new RangeEvent("merge of two ranges below 2 MiB (merge threshold), 2 s cooldown", requests, failed, failedInWindow, two, merged, 0);
        Console.Error.WriteLine(result);
        return merged is null ? throw new InvalidOperationException("the two ranges were not merged within 2 minutes") : result;
    }

    /// <summary>Readers of preloaded subjects and batch writers of new ones, closed loop, all through the gateway.</summary>
    private sealed class Load : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _workers = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<double> _marks = [];
        private readonly List<(double At, bool Ok)> _results = [];

        public Load(HttpClient http, Uri gateway, int writers, int batch, int objectBytes)
        {
            string pad = new('w', objectBytes);
            for (int r = 0; r < 4; r++)
            {
                var random = new Random(r);
                _workers.Add(Task.Run(async () =>
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        Record(await Ok(() => http.GetAsync(new Uri(gateway, $"/v1/subjects/{LoadRunner.Subject(random.Next(1000))}/assertions"))));
                    }
                }));
            }

            long n = 0;
            for (int w = 0; w < writers; w++)
            {
                _workers.Add(Task.Run(async () =>
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        var assertions = Enumerable.Range(0, batch).Select(_ => new { subject = $"grow:{Interlocked.Increment(ref n)}", predicate = "p", @object = pad }).ToList();
                        Record(await Ok(() => http.PostAsJsonAsync(new Uri(gateway, "/v1/assertions"), new { assertions })));
                    }
                }));
            }
        }

        /// <summary>Marks the start or end of the window whose failures are counted separately.</summary>
        public void Mark()
        {
            lock (_marks)
            {
                _marks.Add(_clock.Elapsed.TotalSeconds);
            }
        }

        public async Task<(int Requests, int Failed, int FailedInWindow)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_workers);
            lock (_results)
            {
                double from = _marks.Count > 0 ? _marks[0] - 1 : double.MaxValue;
                double to = _marks.Count > 1 ? _marks[^1] + 1 : double.MaxValue;
                return (_results.Count, _results.Count(r => !r.Ok), _results.Count(r => !r.Ok && r.At >= from && r.At <= to));
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }
        }

        private void Record(bool ok)
        {
            lock (_results)
            {
                _results.Add((_clock.Elapsed.TotalSeconds, ok));
            }
        }

        private static async Task<bool> Ok(Func<Task<HttpResponseMessage>> send)
        {
            try
            {
                using HttpResponseMessage response = await send();
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }
    }
}

/// <summary>A split or merge as clients saw it: requests during the run, failed ones, and those within a second of the change.</summary>
public sealed record RangeEvent(string What, int Requests, int Failed, int FailedAroundTheChange, TimeSpan? Before, TimeSpan? After, long LargestRangeBytes)
{
    public TimeSpan? Took => After - Before;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{What}: took {Took?.TotalSeconds:F2} s as the gateway saw it, {Requests} requests, {Failed} failed ({FailedAroundTheChange} around the change), largest range {LargestRangeBytes / (1 << 20)} MiB");
}
