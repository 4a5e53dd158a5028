using Microsoft.Extensions.Configuration;

namespace StemeDb.Hosting.Tests;

public sealed class NetworkExposureTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.3.4.5")]
    [InlineData("::1")]
    [InlineData("[::1]:7946")]
    [InlineData("localhost")]
    [InlineData("localhost:5000")]
    [InlineData("127.0.0.1:7946")]
    [InlineData("http://127.0.0.1:5001")]
    [InlineData("http://localhost:5000/")]
    [InlineData("https://[::1]:5001")]
    public void Loopback_addresses_are_loopback(string address) => Assert.True(NetworkExposure.IsLoopback(address));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("10.1.2.3")]
    [InlineData("10.1.2.3:7946")]
    [InlineData("stemedb-node-1-0.stemedb-node-1:7946")]
    [InlineData("http://0.0.0.0:5000")]
    [InlineData("http://*:5000")]
    [InlineData("http://+:5000")]
    [InlineData("http://node-1:5000")]
    [InlineData("http://[::]:5000")]
    public void Other_addresses_are_exposed(string address) => Assert.False(NetworkExposure.IsLoopback(address));

    [Fact]
    public void Every_listening_setting_is_read_and_named()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:5001;http://0.0.0.0:5002",
            ["http_ports"] = "8080",
            ["Kestrel:Endpoints:Main:Url"] = "http://10.0.0.1:80",
            ["Kestrel:Endpoints:Local:Url"] = "http://localhost:81",
        }).Build();

        NetworkExposure exposure = NetworkExposure.Of(configuration, ("Cluster:Swim:BindAddress", "0.0.0.0"), ("Node:HttpAddress", "http://127.0.0.1:5001"), ("unset", null));

        Assert.True(exposure.IsExposed);
        Assert.Equal(4, exposure.Addresses.Count);
        Assert.Contains(exposure.Addresses, a => a.Contains("http://0.0.0.0:5002", StringComparison.Ordinal));
        Assert.Contains(exposure.Addresses, a => a.StartsWith("http_ports", StringComparison.Ordinal));
        Assert.Contains(exposure.Addresses, a => a.Contains("Kestrel:Endpoints:Main:Url", StringComparison.Ordinal));
        Assert.Contains(exposure.Addresses, a => a.StartsWith("Cluster:Swim:BindAddress", StringComparison.Ordinal));
    }

    [Fact]
    public void Nothing_configured_is_kestrels_loopback_default()
    {
        Assert.False(NetworkExposure.Of(new ConfigurationBuilder().Build()).IsExposed);
    }
}
