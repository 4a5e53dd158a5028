using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace StemeDb.LoadTest;

/// <summary>
/// <c>compare --peer etcd</c>: this cluster (three nodes, RF 3, the embedded defaults, fsync on) through its
/// gateway, and a 3-member etcd on loopback with etcd's defaults, in one run: closed-loop writes of a new
/// key each and reads of existing keys, 16 and 64 clients, 100-byte values. Both run on the same two cores
/// at different times, never together; the ratios are what the targets are about.
/// </summary>
public static class PeerCompareCommand
{
    /// <summary>What the README's targets ask of each ratio (this cluster / etcd).</summary>
    private const double WriteTarget = 2.0;
    private const double ReadTarget = 1.2;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        if (EtcdPeer.Missing() is { } missing)
        {
            Console.Error.WriteLine($"error: {missing}");
            return 4;
        }

        int seconds = LoadOptions.IntOption(args, "--duration", 10);
        int keys = LoadOptions.IntOption(args, "--keys", 10_000);
        // Both systems get the same warm-up, half at 16 and half at 64 clients, mixed: long enough for .NET's
        // second JIT tier (3 s measured tier-0 code in the first row), and etcd gets it too for fairness.
        int warmup = LoadOptions.IntOption(args, "--warmup", 16);
        int[] clientCounts = [16, 64];
        // The load client: this process's HttpClient (the default), or Debian's wrk, which costs the shared cores less.
        string client = LoadOptions.StringOption(args, "--client", "dotnet");
        if (client is not ("dotnet" or "wrk"))
        {
            throw new ArgumentException("--client takes dotnet or wrk");
        }

        bool wrk = client == "wrk";
        if (wrk && WrkClient.Missing() is { } noWrk)
        {
            Console.Error.WriteLine($"error: {noWrk}");
            return 4;
        }

        // --row write:16 runs that one row on both systems: a profiler attached to this process then sees one workload.
        (string Workload, int Clients)? only = RowOption(args);
        bool Wanted(string workload, int clients) => only is null || (only.Value.Workload == workload && only.Value.Clients == clients);
        var rows = new List<Row>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };

        await using (BenchCluster cluster = await BenchCluster.StartAsync(3, dapr: false))
        {
            await CompareCommand.PreloadAsync(http, cluster.GatewayUrl, keys);
            LoadOptions Ours(int clients, double reads) => new() { Target = cluster.GatewayUrl, Api = "gateway", Clients = clients, Duration = TimeSpan.FromSeconds(seconds), Keys = keys, ReadRatio = reads };
            await WarmUpAsync(Ours, warmup, http, cancellationToken);
            foreach (int clients in clientCounts)
            {
                if (Wanted("write", clients))
                {
                    rows.Add(await RunAsync("stemedb", "write", clients, Ours(clients, 0), wrk, http, cancellationToken));
                }

                if (Wanted("read", clients))
                {
                    rows.Add(await RunAsync("stemedb", "read", clients, Ours(clients, 1), wrk, http, cancellationToken));
                }
            }
        }

        await using (EtcdPeer etcd = await EtcdPeer.StartAsync(cancellationToken))
        {
            await PreloadAsync(http, etcd.ClientUrls, keys, cancellationToken);
            LoadOptions Theirs(int clients, double reads) => new() { Target = etcd.ClientUrls[0], Targets = etcd.ClientUrls, Api = "etcd", Clients = clients, Duration = TimeSpan.FromSeconds(seconds), Keys = keys, ReadRatio = reads };
            await WarmUpAsync(Theirs, warmup, http, cancellationToken);
            foreach (int clients in clientCounts)
            {
                if (Wanted("write", clients))
                {
                    rows.Add(await RunAsync("etcd", "write", clients, Theirs(clients, 0), wrk, http, cancellationToken));
                }

                if (Wanted("read", clients))
                {
                    rows.Add(await RunAsync("etcd", "read", clients, Theirs(clients, 1), wrk, http, cancellationToken));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"closed loop, {(wrk ? "wrk (one process per target)" : "this process's HttpClient")}, {seconds} s per row after {warmup} s of warm-up per system (mixed, 16 then 64 clients){(wrk ? "" : " and 2 s per row")}, {keys} keys uniform, {LoadRunner.ValueBytes}-byte values; stemedb: 3 nodes RF 3 + gateway in one process, fsync on; etcd: {EtcdPeer.Version()} 3 members on loopback, defaults"));
        Console.WriteLine();
        Console.WriteLine("| workload | clients | stemedb req/s | p50 ms | p99 ms | etcd req/s | p50 ms | p99 ms | stemedb / etcd | target |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        bool met = true;
        foreach (string workload in new[] { "write", "read" })
        {
            foreach (int clients in clientCounts.Where(c => Wanted(workload, c)))
            {
                LoadResult ours = rows.Single(r => r.System == "stemedb" && r.Workload == workload && r.Clients == clients).Result;
                LoadResult theirs = rows.Single(r => r.System == "etcd" && r.Workload == workload && r.Clients == clients).Result;
                double ratio = theirs.Throughput == 0 ? double.PositiveInfinity : ours.Throughput / theirs.Throughput;
                double target = workload == "write" ? WriteTarget : ReadTarget;
                met &= ratio >= target;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {workload}s | {clients} | {ours.Throughput:F0} | {ours.P50:F2} | {ours.P99:F2} | {theirs.Throughput:F0} | {theirs.P50:F2} | {theirs.P99:F2} | {ratio:F2} | ≥ {target:F1}: {(ratio >= target ? "met" : "missed")} |"));
            }
        }

        Console.WriteLine(JsonSerializer.Serialize(rows, JsonSerializerOptions.Web));
        return met ? 0 : 3;
    }

    /// <summary>One key per subject the reads ask for (<c>load:k</c>), 100 bytes each, 64 puts at a time.</summary>
    private static async Task PreloadAsync(HttpClient http, IReadOnlyList<Uri> members, int keys, CancellationToken cancellationToken)
    {
        string value = Convert.ToBase64String(Enumerable.Repeat((byte)'x', LoadRunner.ValueBytes).ToArray());
        await Parallel.ForEachAsync(Enumerable.Range(0, keys), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken }, async (k, ct) =>
        {
            using HttpResponseMessage response = await http.PostAsJsonAsync(new Uri(members[k % members.Count], "/v3/kv/put"), new { key = LoadRunner.Base64(LoadRunner.Subject(k)), value }, ct);
            response.EnsureSuccessStatusCode();
        });
    }

    /// <summary>The row after <c>--row</c> (<c>write:16</c>, <c>read:64</c>), or null for all four.</summary>
    private static (string Workload, int Clients)? RowOption(string[] args)
    {
        int i = Array.IndexOf(args, "--row");
        if (i < 0)
        {
            return null;
        }

        string[] parts = i + 1 < args.Length ? args[i + 1].Split(':') : [];
        return parts.Length == 2 && parts[0] is "write" or "read" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int clients) && clients is 16 or 64
            ? (parts[0], clients)
            : throw new ArgumentException("--row takes write:16, write:64, read:16 or read:64");
    }

    private static async Task WarmUpAsync(Func<int, double, LoadOptions> target, int seconds, HttpClient http, CancellationToken cancellationToken)
    {
        foreach (int clients in new[] { 16, 64 })
        {
            await new LoadRunner(target(clients, 0.5) with { Duration = TimeSpan.FromSeconds(seconds / 2.0), Warmup = TimeSpan.Zero }, http, null).RunAsync(cancellationToken);
        }
    }

    private static async Task<Row> RunAsync(string system, string workload, int clients, LoadOptions options, bool wrk, HttpClient http, CancellationToken cancellationToken)
    {
        LoadResult result = wrk
            ? await WrkClient.RunAsync(options.Api, options.ReadRatio == 0, options.Targets.Count > 0 ? options.Targets : [options.Target], clients, options.Duration, options.Keys, cancellationToken)
            : await new LoadRunner(options, http, null).RunAsync(cancellationToken);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{system,-8} {workload,-5} {clients,3} clients {result}"));
        return new Row(system, workload, clients, result);
    }

    private sealed record Row(string System, string Workload, int Clients, LoadResult Result);
}
