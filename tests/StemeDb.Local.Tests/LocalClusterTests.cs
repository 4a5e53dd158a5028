using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Testing;

namespace StemeDb.Local.Tests;

public sealed class LocalClusterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "stemedb-local-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Three_nodes_and_a_gateway_in_one_process_serve_writes_and_reads_and_a_second_process_adds_a_node()
    {
        int swim = FreePorts.UdpRun(4);
        await using LocalCluster first = await LocalCluster.StartAsync(new LocalOptions { SwimBasePort = swim, HttpBasePort = 0, GatewayPort = 0, DataDirectory = _dir });
        Assert.Equal(3, first.Nodes.Count);
        using var http = new HttpClient { BaseAddress = first.GatewayUrl };
        await Poll.UntilAsync(async () => (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "the gateway is ready");

        using HttpResponseMessage written = await http.PostAsync("/v1/assertions", new StringContent("{\"subject\":\"user:42\",\"predicate\":\"name\",\"object\":\"Ada\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        List<JsonElement> read = (await http.GetFromJsonAsync<List<JsonElement>>("/v1/subjects/user:42/assertions"))!;
        Assert.Equal("Ada", Assert.Single(read).GetProperty("object").GetString());
        Assert.True(Directory.Exists(Path.Combine(_dir, "stemedb-node-1")));

        // "--seed": a second process joins through node 1's SWIM address.
        await using LocalCluster second = await LocalCluster.StartAsync(new LocalOptions { Nodes = 1, Gateway = false, SwimBasePort = swim + 3, HttpBasePort = 0, Seed = $"127.0.0.1:{swim}", DataDirectory = _dir });
        await Poll.UntilAsync(
            async () => (await http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!.Count(m => m.GetProperty("state").GetString() == "alive") >= 4,
            TimeSpan.FromSeconds(20),
            "the fourth node shows up alive",
            step: TimeSpan.FromMilliseconds(200));
    }

    [Theory]
    [InlineData("--nodes", "0")]
    [InlineData("--nodes", "x")]
    [InlineData("--gateway-port", "70000")]
    [InlineData("--seed", "nohostport")]
    [InlineData("--frobnicate")]
    public void Bad_arguments_are_named(params string[] args)
    {
        (LocalOptions? options, string? error) = LocalOptions.Parse(args);
        Assert.Null(options);
        Assert.Contains(args[0], error);
    }

    [Fact]
    public void Arguments_parse()
    {
        (LocalOptions? options, _) = LocalOptions.Parse(["--nodes", "5", "--no-gateway", "--swim-base-port", "8000", "--seed", "10.0.0.1:7946", "--data-dir", "/tmp/x"]);
        Assert.Equal(new LocalOptions { Nodes = 5, Gateway = false, SwimBasePort = 8000, Seed = "10.0.0.1:7946", DataDirectory = "/tmp/x" }, options);
    }
}
