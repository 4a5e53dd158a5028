using System.Globalization;
using StemeDb.Testing;

namespace StemeDb.LoadTest;

/// <summary>
/// Debian's wrk as the load client (<c>compare --peer etcd --client wrk</c>): a C client costs the two shared
/// cores far less per request than this process's HttpClient, so less of the machine goes to the client and
/// more to the system measured (which favours the system that needs less CPU per request). The same
/// workloads as <see cref="LoadRunner"/>: writes of a new key (a new subject) with a 100-byte value, reads of
/// the preloaded keys, uniform. One wrk process (one thread) per target with its share of the connections
/// (etcd's three members, this cluster's gateway); their latency distributions are merged from 1 000 quantiles each.
/// </summary>
public static class WrkClient
{
    private const int Quantiles = 1000;

    /// <summary>A sentence saying what to install, or null when wrk is there.</summary>
    public static string? Missing() =>
        File.Exists("/usr/bin/wrk") || File.Exists("/usr/local/bin/wrk") ? null : "wrk is not installed (apt-get install wrk).";

    public static async Task<LoadResult> RunAsync(string api, bool write, IReadOnlyList<Uri> targets, int clients, TimeSpan duration, int keys, CancellationToken cancellationToken)
    {
        string script = Path.Combine(Path.GetTempPath(), $"stemedb-wrk-{Environment.ProcessId}-{api}-{(write ? "write" : "read")}.lua");
        await File.WriteAllTextAsync(script, Script(api, write, keys), cancellationToken);
        try
        {
            // Fewer clients than targets: the first targets get one each, the others none (wrk takes no -c0).
            (Uri Target, int Clients)[] shares = [.. targets.Select((t, i) => (t, (clients / targets.Count) + (i < clients % targets.Count ? 1 : 0))).Where(s => s.Item2 > 0)];
            string seconds = Math.Max(1, (int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            // Each wrk process gets a prefix of its own for the keys it writes: seeded by time alone, processes started together collide.
            HostCommand.Result[] runs = await Task.WhenAll(shares.Select((share, i) => HostCommand.RunAsync(
                "wrk",
                ["-t1", $"-c{share.Clients}", $"-d{seconds}s", "--timeout", "10s", "-s", script, share.Target.ToString(), "--", $"{Environment.ProcessId}-{i}-{Random.Shared.Next(1_000_000)}"],
                duration + TimeSpan.FromSeconds(60),
                cancellationToken: cancellationToken)));
            return Merge(runs, duration);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static LoadResult Merge(HostCommand.Result[] runs, TimeSpan duration)
    {
        long requests = 0;
        long errors = 0;
        double max = 0;
        double seconds = duration.TotalSeconds;
        var samples = new List<(double Latency, double Weight)>();
        foreach (HostCommand.Result run in runs)
        {
            string[] lines = run.Stdout.Split('\n');
            string? totals = lines.FirstOrDefault(l => l.StartsWith("STEMEDB-WRK ", StringComparison.Ordinal));
            if (run.ExitCode != 0 || totals is null)
            {
                throw new InvalidOperationException($"wrk failed ({run.ExitCode}): {run.Stderr.Trim()} {run.Stdout.Trim()}");
            }

            string[] fields = totals.Split(' ');
            long count = long.Parse(fields[1], CultureInfo.InvariantCulture);
            requests += count;
            errors += long.Parse(fields[2], CultureInfo.InvariantCulture);
            max = Math.Max(max, double.Parse(fields[3], CultureInfo.InvariantCulture));
            seconds = Math.Max(seconds, double.Parse(fields[4], CultureInfo.InvariantCulture) / 1e6); // wrk's own measured time
            // Each quantile stands for an equal share of this run's requests.
            samples.AddRange(lines.Where(l => l.StartsWith("Q ", StringComparison.Ordinal)).Select(l => (double.Parse(l[2..], CultureInfo.InvariantCulture), count / (double)Quantiles)));
        }

        samples.Sort((a, b) => a.Latency.CompareTo(b.Latency));
        double total = samples.Sum(s => s.Weight);
        double At(double percentile)
        {
            double wanted = total * percentile / 100;
            double seen = 0;
            foreach ((double latency, double weight) in samples)
            {
                seen += weight;
                if (seen >= wanted)
                {
                    return latency / 1000.0; // microseconds → milliseconds
                }
            }

            return samples.Count == 0 ? 0 : samples[^1].Latency / 1000.0;
        }

        return new LoadResult(requests, errors, requests / seconds, At(50), At(99), At(99.9), max / 1000.0, 0);
    }

    /// <summary>The Lua script of one workload: the requests, and a last report of counts and latency quantiles.</summary>
    private static string Script(string api, bool write, int keys)
    {
        string pad = new('x', LoadRunner.ValueBytes - 18); // {"n":<7 digits>,"pad":"…"} is 100 bytes, as LoadRunner's
        string request = (api, write) switch
        {
            ("gateway", false) => "return wrk.format(\"GET\", \"/v1/subjects/load:\" .. math.random(0, keys - 1) .. \"/assertions\")",
            ("gateway", true) => $"n = n + 1; return wrk.format(\"POST\", \"/v1/assertions\", json, '{{\"subject\":\"load:' .. math.random(0, keys - 1) .. '/' .. prefix .. '-' .. n .. '\",\"predicate\":\"p\",\"object\":{{\"n\":' .. n .. ',\"pad\":\"{pad}\"}}}}')",
            ("etcd", false) => "return wrk.format(\"POST\", \"/v3/kv/range\", json, '{\"key\":\"' .. b64(\"load:\" .. math.random(0, keys - 1)) .. '\"}')",
            ("etcd", true) => "n = n + 1; return wrk.format(\"POST\", \"/v3/kv/put\", json, '{\"key\":\"' .. b64(\"load:\" .. math.random(0, keys - 1) .. '/' .. prefix .. '-' .. n) .. '\",\"value\":\"' .. value .. '\"}')",
            _ => throw new ArgumentException($"no wrk workload for api {api}"),
        };
        return $$"""
            -- generated by StemeDb.LoadTest (WrkClient): one workload, then counts and latency quantiles
            keys = {{keys}}
            n = 0
            json = { ["Content-Type"] = "application/json" }
            local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            function b64(s)
              local out = {}
              for i = 1, #s, 3 do
                local a, b, c = s:byte(i, i + 2)
                local v = a * 65536 + (b or 0) * 256 + (c or 0)
                local n4 = { math.floor(v / 262144) % 64, math.floor(v / 4096) % 64, math.floor(v / 64) % 64, v % 64 }
                out[#out + 1] = chars:sub(n4[1] + 1, n4[1] + 1) .. chars:sub(n4[2] + 1, n4[2] + 1)
                  .. (b and chars:sub(n4[3] + 1, n4[3] + 1) or "=") .. (c and chars:sub(n4[4] + 1, n4[4] + 1) or "=")
              end
              return table.concat(out)
            end
            value = b64(string.rep("x", {{LoadRunner.ValueBytes}}))
            function init(args)
              math.randomseed(os.time() + math.floor(os.clock() * 1000000))
              prefix = args[1] or tostring(math.random(100000000, 999999999))
            end
            function request()
              {{request}}
            end
            function done(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("STEMEDB-WRK %d %d %d %d\n", summary.requests, e.connect + e.read + e.write + e.status + e.timeout, latency.max, summary.duration))
              for i = 1, {{Quantiles}} do
                io.write(string.format("Q %d\n", latency:percentile(i * 100 / ({{Quantiles}} + 1))))
              end
            end
            """;
    }
}
