using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// Every valid subject writes, reads and retracts through the public API: the query-parameter forms carry
/// what a path cannot (fragments, '?', '%', '/', dot segments). Without a sidecar on the way (direct adapter);
/// the Dapr path runs the same list in the end-to-end tests.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class SubjectRoundTripTests
{
    [Fact]
    public async Task Every_hard_subject_reads_and_retracts_through_the_query_parameter_forms()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();
        List<string> failures = await HardSubjects.RoundTripAsync(gateway.Http);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task A_read_or_retract_without_a_subject_is_a_problem_not_a_server_error()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(1);
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();
        foreach (HttpResponseMessage response in new[]
        {
            await gateway.Http.GetAsync("/v1/assertions"),
            await gateway.Http.GetAsync("/v1/assertions?subject="),
            await gateway.Http.DeleteAsync($"/v1/assertions/{new string('a', 64)}"),
            await gateway.Http.GetAsync("/v1/assertions?subject=" + new string('x', 1025)),
        })
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Contains("subject", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
            }
        }
    }
}
