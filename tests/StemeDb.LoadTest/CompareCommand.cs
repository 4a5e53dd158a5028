using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StemeDb.LoadTest;

/// <summary>
/// The side-by-side run (README "Performance"): a. a bare Kestrel endpoint, b. the range leader directly,
/// c. the gateway (direct adapter), d. the gateway with stand-in Dapr sidecars; reads and writes; one
/// process, one run, so the ratios hold although absolute figures drift between machines and runs.
/// </summary>
public static class CompareCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        int seconds = LoadOptions.IntOption(args, "--duration", 10);
        int clients = LoadOptions.IntOption(args, "--clients", 16);
        int keys = LoadOptions.IntOption(args, "--keys", 10_000);
        LoadOptions Base(Uri target, string api, double readRatio) => new()
        {
            Target = target, Api = api, Clients = clients, Duration = TimeSpan.FromSeconds(seconds), Keys = keys, ReadRatio = readRatio,
        };

        var rows = new List<(string Name, LoadResult Result)>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };

        // a. The limit: one HTTP hop to an endpoint that does nothing.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using (WebApplication bare = builder.Build())
        {
            bare.MapGet("/", () => Results.Text("ok"));
            await bare.StartAsync();
            rows.Add(("a. bare Kestrel GET", await Run(Base(new Uri(bare.Urls.First()), "plain", 1), http, null)));
        }

        await using (BenchCluster direct = await BenchCluster.StartAsync(3, dapr: false))
        {
            await PreloadAsync(http, direct.GatewayUrl, keys);
            LeaderMap leaders = await LeaderMap.LoadAsync(http, direct.NodeUrls[0], CancellationToken.None);
            // Every path once before any row counts, so no row pays for another's JIT and tiering.
            foreach ((Uri target, string api) in new[] { (direct.NodeUrls[0], "node"), (direct.GatewayUrl, "gateway") })
            {
                await new LoadRunner(Base(target, api, 0.5) with { Duration = TimeSpan.FromSeconds(3), Warmup = TimeSpan.Zero }, http, leaders).RunAsync(CancellationToken.None);
            }

            rows.Add(("b. node direct, read", await Run(Base(direct.NodeUrls[0], "node", 1), http, leaders)));
            rows.Add(("c. gateway, read", await Run(Base(direct.GatewayUrl, "gateway", 1), http, null)));
            if (args.Contains("--profile"))
            {
                // What one gateway read allocates, by type (sampled), for the whole process: client, gateway, nodes.
                using var profiler = new AllocationProfiler();
                profiler.Start();
                await new LoadRunner(Base(direct.GatewayUrl, "gateway", 1) with { Duration = TimeSpan.FromSeconds(5), Warmup = TimeSpan.Zero }, http, null).RunAsync(CancellationToken.None);
                foreach ((string type, double share) in profiler.Stop(25))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {share,6:P1}  {type}"));
                }
            }

            rows.Add(("b. node direct, write", await Run(Base(direct.NodeUrls[0], "node", 0), http, leaders)));
            rows.Add(("c. gateway, write", await Run(Base(direct.GatewayUrl, "gateway", 0), http, null)));
        }

        await using (BenchCluster dapr = await BenchCluster.StartAsync(3, dapr: true))
        {
            await PreloadAsync(http, dapr.GatewayUrl, keys);
            await new LoadRunner(Base(dapr.GatewayUrl, "gateway", 0.5) with { Duration = TimeSpan.FromSeconds(3), Warmup = TimeSpan.Zero }, http, null).RunAsync(CancellationToken.None);
            rows.Add(("d. gateway + Dapr stand-ins, read", await Run(Base(dapr.GatewayUrl, "gateway", 1), http, null)));
            rows.Add(("d. gateway + Dapr stand-ins, write", await Run(Base(dapr.GatewayUrl, "gateway", 0), http, null)));
        }

        double Tp(string name) => rows.First(r => r.Name == name).Result.Throughput;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"closed loop, {clients} clients, {seconds} s per row after 3 s of warm-up per cluster and 2 s per row, {keys} subjects uniform, 3 nodes (RF 3), everything in one process on loopback"));
        Console.WriteLine();
        Console.WriteLine("| row | req/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | bytes allocated / req (whole process) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach ((string name, LoadResult r) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {r.Throughput:F0} | {r.P50:F2} | {r.P99:F2} | {r.P999:F2} | {r.Max:F1} | {r.Errors} | {r.AllocatedBytesPerRequest:N0} |"));
        }

        var ratios = new Dictionary<string, double>
        {
            ["c/b read"] = Tp("c. gateway, read") / Tp("b. node direct, read"),
            ["d/b read"] = Tp("d. gateway + Dapr stand-ins, read") / Tp("b. node direct, read"),
            ["b/a read"] = Tp("b. node direct, read") / Tp("a. bare Kestrel GET"),
            ["c/b write"] = Tp("c. gateway, write") / Tp("b. node direct, write"),
            ["d/b write"] = Tp("d. gateway + Dapr stand-ins, write") / Tp("b. node direct, write"),
            ["b/a write"] = Tp("b. node direct, write") / Tp("a. bare Kestrel GET"),
        };
        Console.WriteLine();
        Console.WriteLine("ratios of throughput: " + string.Join(", ", ratios.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Key} = {r.Value:F2}"))));
        Console.WriteLine(JsonSerializer.Serialize(new { rows = rows.ToDictionary(r => r.Name, r => r.Result), ratios }, JsonSerializerOptions.Web));
        return ratios["c/b read"] >= 0.5 ? 0 : 3;
    }

    /// <summary>One assertion for every subject, so that reads find something.</summary>
    public static async Task PreloadAsync(HttpClient http, Uri gateway, int keys)
    {
        for (int start = 0; start < keys; start += 500)
        {
            var assertions = Enumerable.Range(start, Math.Min(500, keys - start)).Select(k => new { subject = LoadRunner.Subject(k), predicate = "p", @object = k }).ToList();
            using HttpResponseMessage response = await http.PostAsJsonAsync(new Uri(gateway, "/v1/assertions"), new { assertions });
            response.EnsureSuccessStatusCode();
        }
    }

    private static async Task<LoadResult> Run(LoadOptions options, HttpClient http, LeaderMap? leaders)
    {
        LoadResult result = await new LoadRunner(options, http, leaders).RunAsync(CancellationToken.None);
        Console.Error.WriteLine($"{options.Api,-8} {(options.ReadRatio == 1 ? "read " : "write")} {result}");
        return result;
    }
}
