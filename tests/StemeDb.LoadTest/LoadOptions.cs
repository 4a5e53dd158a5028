using System.Globalization;
using System.Net;

namespace StemeDb.LoadTest;

/// <summary>What one load run does. Bounded by both <see cref="Duration"/> and <see cref="MaxRequests"/>.</summary>
public sealed record LoadOptions
{
    public required Uri Target { get; init; }

    /// <summary>closed: <see cref="Clients"/> clients each send the next request when the last answered. open: <see cref="Rate"/> requests per second whatever the answers.</summary>
    public string Mode { get; init; } = "closed";

    public int Clients { get; init; } = 16;

    public double Rate { get; init; } = 1000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    public long MaxRequests { get; init; } = 2_000_000;

    /// <summary>Share of reads (the rest are writes), 0 to 1.</summary>
    public double ReadRatio { get; init; } = 1;

    public int Keys { get; init; } = 10_000;

    /// <summary>uniform or zipf.</summary>
    public string Distribution { get; init; } = "uniform";

    public double ZipfExponent { get; init; } = 0.99;

    /// <summary>gateway (public /v1 API), node (internal API of each subject's leader), plain (GET / only), etcd (etcd's v3 JSON API on <see cref="Targets"/>).</summary>
    public string Api { get; init; } = "gateway";

    /// <summary>Where requests go when there is more than one endpoint (etcd's members, several gateways): each request to one at random; empty means <see cref="Target"/>.</summary>
    public IReadOnlyList<Uri> Targets { get; init; } = [];

    public static string Usage =>
        "usage: StemeDb.LoadTest run --target URL [--api gateway|node|plain] [--mode closed|open] [--clients C] [--rate R] " +
        "[--duration S] [--warmup S] [--requests N] [--read-ratio 0..1] [--keys K] [--distribution uniform|zipf] [--zipf-s S]\n" +
        "       StemeDb.LoadTest compare [--duration S] [--clients C] [--keys K]   (a, b, c, d side by side; prints a table)\n" +
        "       StemeDb.LoadTest compare --peer etcd [--duration S] [--keys K] [--warmup S] [--client dotnet|wrk] [--row write|read:16|64]  (this cluster's gateway and a 3-member etcd, 16 and 64 clients)\n" +
        "       StemeDb.LoadTest distribution [--duration S] [--keys K]          (ranges, leaders and requests per node, fresh 3 and 5 nodes)\n" +
        "       StemeDb.LoadTest scaling [--duration S] [--warmup S] [--clients C | --clients-per-node N] [--node-millicpus M] [--idle-wait S] [--settle-limit S] [--node-counts 3,6] [--perf DIR]  (3 vs 6 CPU-capped node containers, podman)\n" +
        "       StemeDb.LoadTest ranges                                           (a split and a merge under load)";

    public static LoadOptions Parse(string[] args)
    {
        Uri? target = null;
        var options = new LoadOptions { Target = new Uri("http://127.0.0.1:8080") };
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--target" => options with { Target = target = new Uri(value) },
                "--api" when value is "gateway" or "node" or "plain" => options with { Api = value },
                "--mode" when value is "closed" or "open" => options with { Mode = value },
                "--clients" => options with { Clients = Positive(value) },
                "--rate" => options with { Rate = Positive(value) },
                "--duration" => options with { Duration = TimeSpan.FromSeconds(Positive(value)) },
                "--warmup" => options with { Warmup = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                "--requests" => options with { MaxRequests = Positive(value) },
                "--read-ratio" when double.TryParse(value, CultureInfo.InvariantCulture, out double r) && r is >= 0 and <= 1 => options with { ReadRatio = r },
                "--keys" => options with { Keys = Positive(value) },
                "--distribution" when value is "uniform" or "zipf" => options with { Distribution = value },
                "--zipf-s" => options with { ZipfExponent = double.Parse(value, CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown or invalid option {args[i]} {value}"),
            };
            i++;
        }

        if (target is null)
        {
            throw new ArgumentException("--target is required");
        }

        // Loopback only: this tool must not be pointed at somebody else's server.
        if (!(target.IsLoopback || (IPAddress.TryParse(target.Host, out IPAddress? ip) && IPAddress.IsLoopback(ip))))
        {
            throw new ArgumentException($"--target must be a loopback address (was {target.Host})");
        }

        return options;
    }

    /// <summary>The integer after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/> when it is not there.</summary>
    public static int IntOption(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? Positive(args[i + 1]) : fallback;
    }

    /// <summary>The word after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/> when it is not there.</summary>
    public static string StringOption(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private static int Positive(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new ArgumentException($"'{value}' is not a positive number");
}
