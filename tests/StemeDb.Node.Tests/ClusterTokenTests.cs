using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using StemeDb.Cluster.Configuration;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Testing;

namespace StemeDb.Node.Tests;

/// <summary>
/// The cluster token guards a node's internal API: without it nothing is stored or merged, with it the
/// peers replicate to each other. Off loopback a node refuses to start without it (direct transport),
/// without the app token (Dapr), or with no SWIM key or a published one.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class ClusterTokenTests : IDisposable
{
    private const string Token = "yE3cV8c1Qf0m2u4N6p8R0t2V4x6Z8b0D2f4H6j8L0n2=";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "stemedb-exposure-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Without_the_token_nothing_is_stored_or_merged_and_with_it_peers_replicate()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3, new() { ["Node:ClusterToken"] = Token });
        await cluster.WaitJoinedAsync();
        using var anonymous = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var member = new HttpClient { Timeout = TimeSpan.FromSeconds(5), DefaultRequestHeaders = { { InternalHeaderNames.ClusterToken, Token } } };
        using var wrong = new HttpClient { Timeout = TimeSpan.FromSeconds(5), DefaultRequestHeaders = { { InternalHeaderNames.ClusterToken, Token[..^2] + "x=" } } };

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri(cluster.Urls[0], "/healthz"))).StatusCode); // probes stay open

        // A descriptor with a higher generation, which the node would merge from an authenticated caller.
        MetaRangeDto table = (await member.GetFromJsonAsync<MetaRangeDto>(new Uri(cluster.Urls[0], InternalRoutes.MetaRange)))!;
        RangeDescriptorDto first = table.Descriptors[0];
        var hijack = table with { Descriptors = [first with { Replicas = ["stemedb-node-9"], Generation = first.Generation + 5, Proposer = "stemedb-node-9" }] };
        foreach (HttpClient caller in new[] { anonymous, wrong })
        {
            using HttpResponseMessage merged = await caller.PostAsJsonAsync(new Uri(cluster.Urls[0], InternalRoutes.MetaRange), hijack);
            Assert.Equal(HttpStatusCode.Unauthorized, merged.StatusCode);
            Assert.Equal("application/problem+json", merged.Content.Headers.ContentType?.MediaType);
            using HttpResponseMessage stored = await caller.PostAsJsonAsync(new Uri(cluster.Urls[0], InternalRoutes.Write), new WriteRequest([new AssertionInput("s", "p", JsonDocument.Parse("1").RootElement, null, null)]));
            Assert.Equal(HttpStatusCode.Unauthorized, stored.StatusCode);
        }

        MetaRangeDto after = (await member.GetFromJsonAsync<MetaRangeDto>(new Uri(cluster.Urls[0], InternalRoutes.MetaRange)))!;
        Assert.Equal(first.Generation, after.Descriptors[0].Generation);
        Assert.DoesNotContain(after.Descriptors, d => d.Replicas.Contains("stemedb-node-9"));

        // With the token a write is stored on a majority: the leader's peers accepted its calls, so it sends the token too.
        using HttpResponseMessage written = await member.PostAsJsonAsync(new Uri(cluster.Urls[0], InternalRoutes.Write), new WriteRequest([new AssertionInput("user:1", "name", JsonDocument.Parse("\"Ada\"").RootElement, null, null)]));
        Assert.True(written.IsSuccessStatusCode, await written.Content.ReadAsStringAsync());
        foreach (Uri replica in cluster.Urls.Skip(1))
        {
            await Poll.UntilAsync(
                async () => (await member.PostAsJsonAsync(new Uri(replica, InternalRoutes.LocalRead), new QueryRequest("user:1", null, false))).Content.ReadFromJsonAsync<List<JsonElement>>().Result!.Count == 1,
                TimeSpan.FromSeconds(10),
                $"the write stored on {replica}");
        }
    }

    [Fact]
    public void Off_loopback_a_node_without_a_key_or_a_token_refuses_to_start_and_says_what_to_set()
    {
        var error = Assert.Throws<ClusterConfigException>(() => NodeApp.Build([], Settings(new() { ["Cluster:Swim:BindAddress"] = "0.0.0.0" })));
        Assert.Contains(error.Errors, e => e.Contains("Cluster:Swim:Keys is empty", StringComparison.Ordinal) && e.Contains("head -c32 /dev/urandom | base64", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("Node__ClusterToken", StringComparison.Ordinal));
        Assert.False(Directory.Exists(_dir)); // refused before the store was opened
    }

    [Theory]
    [InlineData("c3RlbWVkYi1sb2NhbC1kZXZlbG9wbWVudC1rZXktMzI=")]
    [InlineData("2CF8zocmQ+hTOZHODKgAfQWMHYBcKDyiY3j4P5fUQKY=")] // StemeDb.Local's development key
    public void Off_loopback_a_published_key_is_refused(string key)
    {
        var error = Assert.Throws<ClusterConfigException>(() => NodeApp.Build([], Settings(new()
        {
            ["urls"] = "http://0.0.0.0:5000",
            ["Cluster:Swim:Keys:0"] = key,
            ["Node:ClusterToken"] = Token,
        })));
        Assert.Contains("published with StemeDb", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Off_loopback_with_dapr_the_app_token_is_required()
    {
        var error = Assert.Throws<ClusterConfigException>(() => NodeApp.Build([], Settings(new()
        {
            ["Node:HttpAddress"] = "http://10.1.2.3:5000",
            ["Node:Transport"] = "Dapr",
            ["Cluster:Swim:Keys:0"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        })));
        Assert.Contains("APP_API_TOKEN", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    private Action<IConfigurationBuilder> Settings(Dictionary<string, string?> settings)
    {
        settings["Storage:DataDirectory"] = _dir;
        settings["Cluster:NodeId"] = "stemedb-node-1";
        return c => c.AddInMemoryCollection(settings);
    }
}
