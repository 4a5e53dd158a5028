using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Cluster.Sharding;
using Xunit.Abstractions;
using StemeDb.Contracts;
using StemeDb.Testing;

namespace StemeDb.Containers.Tests;

/// <summary>
/// A node whose wall clock steps ahead of the others' while it runs and leads ranges (libfaketime, which
/// that node runs under at offset 0; see <see cref="ContainerCluster.SkewableNode"/>): once within
/// the maximum clock offset (500 ms) and once beyond it, for <see cref="Hold"/> under the workload, then
/// back to 0. README, "Guarantees": every message carries an HLC reading the receiver observes, and a peer further
/// ahead than the maximum offset is refused; either way no acknowledged write may be lost, no read stale,
/// no retraction undone. The offset the node's clock really had is measured from the HLC timestamp it
/// gives a write it leads.
/// </summary>
[Collection(ContainerClusterCollection.Name)]
public sealed class ClockSkewScenarioTests(ContainerCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(20);
    private readonly ScenarioRunner _runner = new(cluster, output);

    [SkippableFact]
    public Task A_node_clock_200_ms_ahead_within_the_maximum_offset_loses_nothing() => SkewedAsync(TimeSpan.FromMilliseconds(200));

    [SkippableFact]
    public Task A_node_clock_5_s_ahead_beyond_the_maximum_offset_loses_nothing() => SkewedAsync(TimeSpan.FromSeconds(5));

    private async Task SkewedAsync(TimeSpan offset)
    {
        await _runner.PrepareAsync();
        const int victim = ContainerCluster.SkewableNode;
        // Its clock matters where it leads: it stamps those ranges' writes, retractions and descriptor changes.
        int leads = await UntilLeadsAsync(victim, ScenarioRunner.FaultTimeout);
        output.WriteLine($"{ContainerCluster.NodeId(victim)} leads {leads} ranges");
        string relation = offset <= ContainerCluster.MaxClockOffset ? "within" : "beyond";
        string name = string.Create(CultureInfo.InvariantCulture, $"{ContainerCluster.NodeId(victim)} clock +{offset.TotalMilliseconds:0} ms ({relation} the {ContainerCluster.MaxClockOffset.TotalMilliseconds:0} ms maximum offset)");

        await _runner.RunAsync(name, async clock =>
        {
            try
            {
                await cluster.SetClockOffsetAsync(offset);
                output.WriteLine($"{ContainerCluster.NodeId(victim)} clock set to {ContainerCluster.FakeTimeSpec(offset)}: {await MeasureOffsetAsync(victim)}");
                await Task.Delay(Hold);
                output.WriteLine($"after {Hold.TotalSeconds:F0} s: {await MeasureOffsetAsync(victim)}; others see it {string.Join(", ", await cluster.StatesOfAsync(victim, Enumerable.Range(0, ContainerCluster.NodeCount)))}");
            }
            finally
            {
                await cluster.SetClockOffsetAsync(TimeSpan.Zero);
            }

            return (null, null);
        });
    }

    /// <summary>Waits, at most <paramref name="limit"/>, until the node leads some range; how many it leads (0: none within the limit).</summary>
    private async Task<int> UntilLeadsAsync(int node, TimeSpan limit)
    {
        int leads = 0;
        await Poll.WithinAsync(
            async () =>
            {
                leads = 0; // a gateway that does not answer counts as no leadership seen
                leads = (await cluster.RangesAsync(0)).Count(r => r.Leader == ContainerCluster.NodeId(node));
                return leads > 0;
            },
            limit,
            step: TimeSpan.FromMilliseconds(500),
            retryOn: e => e is HttpRequestException or TaskCanceledException);
        return leads;
    }

    /// <summary>
    /// Writes a subject of a range the node leads through gateway A and compares the HLC time the node
    /// gave it (<c>assertedAt</c>) with the host's clock at the middle of the request. The write joins the
    /// ledger like any other.
    /// </summary>
    private async Task<string> MeasureOffsetAsync(int node)
    {
        try
        {
            RangeInfo? led = (await cluster.RangesAsync(0)).FirstOrDefault(r => r.Leader == ContainerCluster.NodeId(node));
            if (led is null)
            {
                return $"offset not measured: {ContainerCluster.NodeId(node)} leads no range";
            }

            string subject = Enumerable.Range(0, 100_000).Select(k => $"skew:{Guid.NewGuid():N}:{k}").First(s => led.Holds(ShardId.ForSubject(s, ContainerCluster.ShardCount).Value));
            HttpClient gateway = cluster.Gateways[0].Http;
            DateTimeOffset before = DateTimeOffset.UtcNow;
            using HttpResponseMessage written = await gateway.PostAsJsonAsync("/v1/assertions", new { subject, predicate = "p", @object = "clock" });
            DateTimeOffset after = DateTimeOffset.UtcNow;
            if (!written.IsSuccessStatusCode)
            {
                return $"offset not measured: the write answered {(int)written.StatusCode}";
            }

            cluster.Ledger.AddWrite(subject, (await written.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids")[0].GetString()!);
            string by = written.Headers.TryGetValues(InternalHeaderNames.Node, out IEnumerable<string>? nodes) ? string.Join(",", nodes) : "?";
            List<JsonElement> read = (await gateway.GetFromJsonAsync<List<JsonElement>>($"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions"))!;
            DateTimeOffset asserted = DateTimeOffset.Parse(read[0].GetProperty("assertedAt").GetString()!, CultureInfo.InvariantCulture);
            TimeSpan measured = asserted - (before + ((after - before) / 2));
            return string.Create(CultureInfo.InvariantCulture, $"offset measured: {measured.TotalMilliseconds:+0;-0} ms ± {(after - before).TotalMilliseconds / 2:0} ms (write led by {by})");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            return $"offset not measured: {e.Message}";
        }
    }
}
