using System.Net;
using StemeDb.Local;
using StemeDb.Testing;

namespace StemeDb.Client.Tests;

/// <summary>One embedded cluster (three nodes and a gateway on loopback) shared by the tests of a class; ready when handed out.</summary>
public sealed class EmbeddedCluster : IAsyncLifetime
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "stemedb-client-" + Guid.NewGuid().ToString("N"));

    public int SwimBasePort { get; } = FreePorts.UdpRun(3);

    public LocalCluster Cluster { get; private set; } = null!;

    public Uri Gateway => Cluster.GatewayUrl!;

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.StartAsync(new LocalOptions { SwimBasePort = SwimBasePort, HttpBasePort = 0, GatewayPort = 0, DataDirectory = DataDirectory });
        using var http = new HttpClient { BaseAddress = Cluster.GatewayUrl, Timeout = TimeSpan.FromSeconds(10) };
        await Poll.UntilAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the gateway is ready", step: TimeSpan.FromMilliseconds(200), retryOn: e => e is HttpRequestException or TaskCanceledException);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
