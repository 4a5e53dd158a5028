using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using StemeDb.Testing;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// The README's run command as a user runs it: StemeDb.Local as a process, then a second process that
/// joins with <c>--seed</c>; the second is killed (SIGKILL) and every acknowledged assertion stays readable;
/// the first then stops cleanly on SIGTERM.
/// </summary>
public sealed class LocalProcessTests(ITestOutputHelper output) : IDisposable
{
    private const int Count = 2000;
    private static readonly string Filler = new('x', 1000); // ~2 MB: with a 1 MiB split threshold, several ranges to spread
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "stemedb-local-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task FiveAliveAsync(HttpClient http, AppProcess first, AppProcess second) =>
        Poll.UntilAsync(async () => (await http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!.Count(m => m.GetProperty("state").GetString() == "alive") == 5, TimeSpan.FromSeconds(60), "five members alive", step: TimeSpan.FromMilliseconds(250), diagnostics: () => Task.FromResult(first.Output + "\n" + second.Output), retryOn: e => e is HttpRequestException);

    [Fact]
    public async Task A_second_process_joins_with_seed_and_killing_it_loses_no_written_assertion()
    {
        int swim = FreePorts.UdpRun(5);
        // Range checks every second (instead of 10 s) and 1 MiB ranges, so that there are several ranges and
        // the new nodes take replicas of some within the test's time (one range on three nodes is balanced).
        Dictionary<string, string?> env = new()
        {
            ["Node__RangeCheckInterval"] = "00:00:01",
            ["Cluster__Sharding__SplitThresholdBytes"] = "1048576",
            ["Cluster__Sharding__MergeThresholdBytes"] = "0",
            ["Cluster__Sharding__StrandedRangeBytes"] = "0",
        };
        await using AppProcess first = AppProcess.Start("local-1", BuiltApps.Local, env,
            "--swim-base-port", swim.ToString(CultureInfo.InvariantCulture), "--http-base-port", "0", "--gateway-port", "0", "--data-dir", Path.Combine(_dir, "a"));
        string banner = await first.WaitForLineAsync(l => l.StartsWith("gateway: ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await first.WaitForLineAsync(l => l.Contains("curl", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        var gateway = new Uri(banner["gateway: ".Length..].Trim());
        await first.WaitHealthyAsync(new Uri(gateway, "/readyz"), TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(15) };

        string[] secondArgs =
        [
            "--nodes", "2", "--no-gateway", "--swim-base-port", (swim + 3).ToString(CultureInfo.InvariantCulture), "--http-base-port", "0",
            "--seed", $"127.0.0.1:{swim}", "--data-dir", Path.Combine(_dir, "b"),
        ];
        await using AppProcess second = AppProcess.Start("local-2", BuiltApps.Local, env, secondArgs);
        await second.WaitForLineAsync(l => l.StartsWith("Ctrl+C", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        // "node {id}: SWIM ..., HTTP ..." for each node of the second process.
        string[] secondNodes = [.. second.FirstLines.Where(l => l.StartsWith("node ", StringComparison.Ordinal)).Select(l => l[5..l.IndexOf(':', StringComparison.Ordinal)])];
        Assert.Equal(2, secondNodes.Length);
        await FiveAliveAsync(http, first, second);

        var ids = new string[Count];
        for (int i = 0; i < Count; i++)
        {
            using HttpResponseMessage written = await http.PostAsync("/v1/assertions", new StringContent($"{{\"subject\":\"seed:{i}\",\"predicate\":\"n\",\"object\":{{\"n\":{i},\"pad\":\"{Filler}\"}}}}", Encoding.UTF8, "application/json"));
            Assert.True(written.StatusCode == HttpStatusCode.OK, $"write {i}: {written.StatusCode} {await written.Content.ReadAsStringAsync()}");
            ids[i] = (await written.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids")[0].GetString()!;
        }

        // The new nodes must really hold replicas, or killing them proves nothing.
        await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!.Any(r => r.GetProperty("replicas").EnumerateArray().Any(x => secondNodes.Contains(x.GetString()))), TimeSpan.FromSeconds(60), "a range replicated on the second process's nodes", step: TimeSpan.FromMilliseconds(250), diagnostics: () => Task.FromResult(first.Output + "\n" + second.Output), retryOn: e => e is HttpRequestException);
        List<JsonElement> ranges = (await http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!;
        int both = ranges.Count(r => r.GetProperty("replicas").EnumerateArray().Count(x => secondNodes.Contains(x.GetString())) == 2);
        output.WriteLine($"second process nodes: {string.Join(", ", secondNodes)}; ranges with a replica there: {ranges.Count(r => r.GetProperty("replicas").EnumerateArray().Any(x => secondNodes.Contains(x.GetString())))} of {ranges.Count}, with two there: {both}");

        // Two of five nodes die at once. A range with two of its three replicas among them has no majority
        // left: its reads are refused (503), never answered from the one survivor; every other read finds it.
        second.Kill();
        int refused = 0;
        for (int i = 0; i < Count; i += 10)
        {
            using HttpResponseMessage read = await http.GetAsync($"/v1/subjects/seed%3A{i}/assertions");
            if (read.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                refused++;
                continue;
            }

            Assert.True(read.StatusCode == HttpStatusCode.OK, $"read {i}: {read.StatusCode} {await read.Content.ReadAsStringAsync()}");
            Assert.Contains((await read.Content.ReadFromJsonAsync<List<JsonElement>>())!, a => a.GetProperty("id").GetString() == ids[i]);
        }

        output.WriteLine($"with the second process dead: {refused} of {Count / 10} sampled reads refused (no majority), the rest found");
        Assert.True(both > 0 || refused == 0, "reads were refused although every range kept a majority");

        // The second process comes back on its data: everything written is there.
        await using AppProcess again = AppProcess.Start("local-2b", BuiltApps.Local, env, secondArgs);
        await again.WaitForLineAsync(l => l.StartsWith("Ctrl+C", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await FiveAliveAsync(http, first, again);
        int missing = 0;
        for (int i = 0; i < Count; i++)
        {
            HttpResponseMessage? read = null;
            for (int attempt = 0; attempt < 20; attempt++)
            {
                read?.Dispose();
                read = await http.GetAsync($"/v1/subjects/seed%3A{i}/assertions");
                if (read.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }

                await Task.Delay(250); // the gateway routes to the restarted nodes once membership says they are back
            }

            using (read)
            {
                if (read!.StatusCode != HttpStatusCode.OK || !(await read.Content.ReadFromJsonAsync<List<JsonElement>>())!.Any(a => a.GetProperty("id").GetString() == ids[i]))
                {
                    missing++;
                }
            }
        }

        output.WriteLine($"after the second process came back: {Count - missing} of {Count} readable");
        Assert.Equal(0, missing);

        // SIGTERM stops the first process cleanly (nodes leave, stores close), as Ctrl+C does.
        Assert.True(first.Terminate(TimeSpan.FromSeconds(20)), $"StemeDb.Local did not exit on SIGTERM\n{first.Output}");
        Assert.Equal(0, first.ExitCode);
        Assert.Contains("stopping...", first.Output, StringComparison.Ordinal);
    }
}
