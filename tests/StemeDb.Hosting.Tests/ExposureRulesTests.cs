using System.Security.Cryptography;

namespace StemeDb.Hosting.Tests;

public sealed class ExposureRulesTests
{
    private static readonly NetworkExposure Exposed = new(["Cluster:Swim:BindAddress = 0.0.0.0"]);
    private static readonly NetworkExposure Loopback = new([]);
    private static readonly string OwnKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string OwnToken = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Off_loopback_no_key_is_refused_with_how_to_make_one()
    {
        var errors = new List<string>();
        ExposureRules.CheckSwimKeys(Exposed, [], errors);
        string error = Assert.Single(errors);
        Assert.Contains("Cluster__Swim__Keys__0", error, StringComparison.Ordinal);
        Assert.Contains("head -c32 /dev/urandom | base64", error, StringComparison.Ordinal);
        Assert.Contains("0.0.0.0", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("c3RlbWVkYi1sb2NhbC1kZXZlbG9wbWVudC1rZXktMzI=")] // dapr.yaml's, once deploy/'s
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] // zeros
    public void Off_loopback_a_shipped_key_is_refused(string key)
    {
        var errors = new List<string>();
        ExposureRules.CheckSwimKeys(Exposed, [OwnKey, key], errors);
        Assert.Contains("Cluster:Swim:Keys:1", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void The_embedded_clusters_development_key_is_a_shipped_key()
    {
        var errors = new List<string>();
        ExposureRules.CheckSwimKeys(Exposed, [ShippedKeys.LocalDevelopmentKey], errors);
        Assert.Contains("development key", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void On_loopback_any_key_or_none_is_fine()
    {
        var errors = new List<string>();
        ExposureRules.CheckSwimKeys(Loopback, [], errors);
        ExposureRules.CheckSwimKeys(Loopback, [ShippedKeys.ExampleKey], errors);
        ExposureRules.CheckInternalApi(Loopback, Transport.Direct, null, "Node:ClusterToken", null, [], errors);
        ExposureRules.CheckInternalApi(Loopback, Transport.Dapr, null, "Node:ClusterToken", null, [], errors);
        Assert.Empty(errors);
    }

    [Fact]
    public void Off_loopback_with_a_key_of_ones_own_and_a_token_is_fine()
    {
        var errors = new List<string>();
        ExposureRules.CheckSwimKeys(Exposed, [OwnKey], errors);
        ExposureRules.CheckInternalApi(Exposed, Transport.Direct, OwnToken, "Node:ClusterToken", null, [OwnKey], errors);
        ExposureRules.CheckInternalApi(Exposed, Transport.Dapr, null, "Node:ClusterToken", "app-token", [OwnKey], errors);
        Assert.Empty(errors);
    }

    [Fact]
    public void Off_loopback_the_direct_transport_needs_a_cluster_token()
    {
        var errors = new List<string>();
        ExposureRules.CheckInternalApi(Exposed, Transport.Direct, null, "Node:ClusterToken", "an app token does not count", [OwnKey], errors);
        Assert.Contains("Node__ClusterToken", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Off_loopback_the_dapr_transport_needs_the_app_token()
    {
        var errors = new List<string>();
        ExposureRules.CheckInternalApi(Exposed, Transport.Dapr, null, "Node:ClusterToken", null, [OwnKey], errors);
        Assert.Contains("APP_API_TOKEN", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_is_long_and_not_the_swim_key()
    {
        var errors = new List<string>();
        ExposureRules.CheckInternalApi(Loopback, Transport.Direct, "short", "Node:ClusterToken", null, [], errors);
        ExposureRules.CheckInternalApi(Loopback, Transport.Direct, OwnKey, "Node:ClusterToken", null, [OwnKey], errors);
        Assert.Equal(2, errors.Count);
        Assert.Contains("at least 32", errors[0], StringComparison.Ordinal);
        Assert.Contains("differ from the SWIM keys", errors[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_with_nodes_off_loopback_needs_their_token()
    {
        var errors = new List<string>();
        ExposureRules.CheckGatewayToNodes(["http://127.0.0.1:5001"], Transport.Direct, null, "Gateway:ClusterToken", errors);
        Assert.Empty(errors);
        ExposureRules.CheckGatewayToNodes(["http://127.0.0.1:5001", "http://10.0.0.2:5000"], Transport.Direct, null, "Gateway:ClusterToken", errors);
        Assert.Contains("http://10.0.0.2:5000", Assert.Single(errors), StringComparison.Ordinal);
        errors.Clear();
        ExposureRules.CheckGatewayToNodes(["http://10.0.0.2:5000"], Transport.Direct, OwnToken, "Gateway:ClusterToken", errors);
        Assert.Empty(errors);
    }
}
