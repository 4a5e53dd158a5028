using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StemeDb.Local;

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

    private static int FreeUdpBase(int count)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            int start = Random.Shared.Next(20_000, 40_000);
            var sockets = new List<Socket>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    sockets.Add(s);
                    s.Bind(new IPEndPoint(IPAddress.Loopback, start + i));
                }

                return start;
            }
            catch (SocketException)
            {
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }

        throw new InvalidOperationException("no free UDP ports");
    }

    [Fact]
    public async Task Three_nodes_and_a_gateway_in_one_process_serve_writes_and_reads_and_a_second_process_adds_a_node()
    {
        int swim = FreeUdpBase(4);
        await using LocalCluster first = await LocalCluster.StartAsync(new LocalOptions { SwimBasePort = swim, HttpBasePort = 0, GatewayPort = 0, DataDirectory = _dir });
        Assert.Equal(3, first.Nodes.Count);
        using var http = new HttpClient { BaseAddress = first.GatewayUrl };
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await http.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "gateway never ready");
            await Task.Delay(100);
        }

        using HttpResponseMessage written = await http.PostAsync("/v1/assertions", new StringContent("{\"subject\":\"user:42\",\"predicate\":\"name\",\"object\":\"Ada\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        List<JsonElement> read = (await http.GetFromJsonAsync<List<JsonElement>>("/v1/subjects/user:42/assertions"))!;
        Assert.Equal("Ada", Assert.Single(read).GetProperty("object").GetString());
        Assert.True(Directory.Exists(Path.Combine(_dir, "stemedb-node-1")));

        // "--seed": a second process joins through node 1's SWIM address.
        await using LocalCluster second = await LocalCluster.StartAsync(new LocalOptions { Nodes = 1, Gateway = false, SwimBasePort = swim + 3, HttpBasePort = 0, Seed = $"127.0.0.1:{swim}", DataDirectory = _dir });
        deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!.Count(m => m.GetProperty("state").GetString() == "alive") < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "the fourth node never showed up");
            await Task.Delay(200);
        }
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
