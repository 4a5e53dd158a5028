using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using StemeDb.Testing;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// The README's Dapr subscriber (tests/StemeDb.Samples.MembershipSubscriber) as a user runs it: its own
/// process behind a stand-in sidecar, fed by three observers publishing with Dapr.Client, the whole stream
/// replayed to its new consumer group by ten workers, out of order, with duplicates.
/// </summary>
public sealed class MembershipSubscriberSampleTests
{
    private const string Project = "tests/StemeDb.Samples.MembershipSubscriber";

    [Fact]
    public void The_README_shows_the_sample_program_verbatim()
    {
        string readme = File.ReadAllText(RepositoryFiles.Resolve("README.md"));
        string program = File.ReadAllText(RepositoryFiles.Resolve($"{Project}/Program.cs"));
        Assert.Contains(program.TrimEnd(), readme, StringComparison.Ordinal);
    }

    // (member, kind, state, incarnation) in the order they happened; every observer publishes each.
    private static readonly (string Member, string Kind, string State, uint Incarnation)[] History =
    [
        ("stemedb-node-1", "joined", "alive", 1),
        ("stemedb-node-2", "joined", "alive", 1),
        ("stemedb-node-3", "joined", "alive", 1),
        ("stemedb-node-2", "suspect", "suspect", 1),
        ("stemedb-node-2", "alive", "alive", 2), // refuted
        ("stemedb-node-3", "left", "left", 1),
        ("stemedb-node-1", "suspect", "suspect", 1),
        ("stemedb-node-1", "dead", "dead", 1),
        ("stemedb-node-1", "joined", "alive", 2), // restarted
        ("stemedb-node-4", "joined", "alive", 5),
        ("stemedb-node-2", "suspect", "suspect", 2),
        ("stemedb-node-2", "dead", "dead", 2),
    ];

    [Fact]
    public async Task The_sample_ends_with_the_right_view_from_a_replayed_reordered_duplicated_stream_of_several_observers()
    {
        var broker = new StandInBroker(seed: 16) { Duplicates = 0.5, MaxDelay = TimeSpan.FromMilliseconds(30) };
        var registry = new ConcurrentDictionary<string, StandInSidecar>();
        var random = new Random(16);
        foreach (string observer in new[] { "stemedb-node-5", "stemedb-node-6", "stemedb-node-7" })
        {
            await using var sidecar = new StandInSidecar(observer, new Uri("http://127.0.0.1:1"), broker, registry);
            await sidecar.StartAsync();
            using DaprClient dapr = new DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint.ToString()).UseGrpcEndpoint(sidecar.GrpcEndpoint.ToString()).Build();
            // Each observer saw them in its own order (gossip reaches nodes at different times).
            foreach (var (member, kind, state, incarnation) in History.OrderBy(_ => random.Next()))
            {
                string key = $"{member}@{incarnation}/{state}";
                var data = new { key, kind, memberId = member, appId = member, httpAddress = "http://10.0.0.1:5001", swimAddress = "10.0.0.1:7946", state, incarnation, observedBy = observer, time = DateTimeOffset.UnixEpoch };
                await dapr.PublishEventAsync("pubsub", "membership", data, new Dictionary<string, string> { ["cloudevent.type"] = $"io.stemedb.membership.{kind}", ["cloudevent.id"] = key });
            }
        }

        // Started after everything was published: its new consumer group gets the retained stream replayed.
        int port = FreePorts.Tcp();
        using Process app = StartSample(port);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Poll.UntilAsync(async () => (await http.GetAsync("/members")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the sample app answers", retryOn: e => e is HttpRequestException);
            await using var subscriber = new StandInSidecar("membership-watcher", http.BaseAddress, broker, registry);
            await subscriber.StartAsync();
            await subscriber.LoadSubscriptionsAsync(); // as daprd does once the app's port is open
            Assert.Contains(subscriber.Subscriptions, s => s.Topic == "membership" && s.Route == "/membership");

            string[] expected = ["stemedb-node-1 alive 2", "stemedb-node-2 dead 2", "stemedb-node-3 left 1", "stemedb-node-4 alive 5"];
            string[] seen = [];
            await Poll.UntilAsync(
                async () =>
                {
                    List<JsonElement> members = (await http.GetFromJsonAsync<List<JsonElement>>("/members"))!;
                    seen = [.. members.Select(m => $"{m.GetProperty("memberId").GetString()} {m.GetProperty("state").GetString()} {m.GetProperty("incarnation").GetUInt32()}")];
                    return seen.SequenceEqual(expected) && broker.Retained("pubsub", "membership") == 3 * History.Length;
                },
                TimeSpan.FromSeconds(30),
                "the sample's view is the last state of every member",
                diagnostics: () => Task.FromResult($"seen: {string.Join(", ", seen)}"));
            await broker.IdleAsync();
            Assert.True(broker.Duplicated > 0, "no delivery was duplicated: the test proves less than it says");
            Assert.Equal(expected, (await http.GetFromJsonAsync<List<JsonElement>>("/members"))!.Select(m => $"{m.GetProperty("memberId").GetString()} {m.GetProperty("state").GetString()} {m.GetProperty("incarnation").GetUInt32()}"));
        }
        finally
        {
            app.Kill(entireProcessTree: true);
            await app.WaitForExitAsync();
        }
    }

    /// <summary>The sample's build output (same configuration as this test's), run with <c>dotnet</c>.</summary>
    private static Process StartSample(int port)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0/
        string dll = RepositoryFiles.Resolve($"{Project}/bin/{configuration}/net10.0/StemeDb.Samples.MembershipSubscriber.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"]) { UseShellExecute = false };
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        return Process.Start(start)!;
    }
}
