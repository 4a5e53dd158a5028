using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Contracts.Wire;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// <c>/v1/cluster/events</c> fed as daprd feeds a gateway: membership events delivered to its topic route
/// (no cluster needed: the stream shows the gateway's view, whatever brought the changes).
/// </summary>
public sealed class EventStreamTests
{
    private static Task<GatewayHost> StartDaprGateway(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Transport"] = "Dapr",
            ["Gateway:Seeds:0"] = "stemedb-node-1",
            ["DAPR_HTTP_ENDPOINT"] = "http://127.0.0.1:1",
            ["DAPR_GRPC_ENDPOINT"] = "http://127.0.0.1:1",
        };
        foreach ((string key, string? value) in extra ?? [])
        {
            settings[key] = value;
        }

        return GatewayHost.StartAsync([], settings);
    }

    private static MembershipEventDto Event(string member, string kind, string state, uint incarnation, string observer = "stemedb-node-1") =>
        MembershipEventDto.Of(kind, new MemberDto(member, member, "http://127.0.0.1:5002", "127.0.0.1:7947", state, incarnation), observer, DateTimeOffset.UnixEpoch);

    private static async Task DeliverAsync(HttpClient http, MembershipEventDto data)
    {
        var envelope = new { specversion = "1.0", id = data.Key, source = data.ObservedBy, type = data.Type, datacontenttype = "application/json", topic = "membership", pubsubname = "pubsub", data };
        using var content = new StringContent(JsonSerializer.Serialize(envelope, JsonSerializerOptions.Web), Encoding.UTF8, "application/cloudevents+json");
        using HttpResponseMessage response = await http.PostAsync("/events/membership", content);
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task The_view_comes_first_then_changes_once_each_and_a_reconnect_resumes_after_its_last_id()
    {
        await using GatewayHost gateway = await StartDaprGateway(new() { ["Gateway:EventsKeepAlive"] = "00:00:00.300" });
        await DeliverAsync(gateway.Http, Event("n-a", "joined", "alive", 1));
        await DeliverAsync(gateway.Http, Event("n-b", "joined", "alive", 1));
        await DeliverAsync(gateway.Http, Event("n-b", "suspect", "suspect", 1));

        await using (SseClient first = await SseClient.ConnectAsync(gateway.Url))
        {
            // The view: one event per member, kind = state, observed by the gateway, ids increasing.
            List<SseEvent> view = await first.DrainAsync(TimeSpan.FromSeconds(1));
            Assert.Equal(["n-a@1/alive", "n-b@1/suspect"], view.Select(e => e.Data.Key));
            Assert.Equal(["alive", "suspect"], view.Select(e => e.Data.Kind));
            Assert.All(view, e => Assert.Equal("gateway", e.Data.ObservedBy));
            Assert.Equal([MembershipEventTypes.Alive, MembershipEventTypes.Suspect], view.Select(e => e.Type));
            Assert.True(view[0].Id < view[1].Id);

            // Changes, each key once though delivered by several observers and again.
            await DeliverAsync(gateway.Http, Event("n-b", "dead", "dead", 1, "stemedb-node-1"));
            await DeliverAsync(gateway.Http, Event("n-b", "dead", "dead", 1, "stemedb-node-3"));
            await DeliverAsync(gateway.Http, Event("n-b", "suspect", "suspect", 1)); // older news, late
            await DeliverAsync(gateway.Http, Event("n-c", "joined", "alive", 4));
            List<SseEvent> changes = await first.DrainAsync(TimeSpan.FromSeconds(1));
            Assert.Equal(["n-b@1/dead", "n-c@4/alive"], changes.Select(e => e.Data.Key));
            Assert.Equal([MembershipEventTypes.Dead, MembershipEventTypes.Joined], changes.Select(e => e.Type));
            Assert.Equal("stemedb-node-1", changes[0].Data.ObservedBy);
            Assert.True(first.Comments > 0, "no keep-alive comment in a second of silence at 300 ms");
        }

        // Reconnect after the first change: the rest, nothing again, nothing lost (events meanwhile too).
        await using SseClient all = await SseClient.ConnectAsync(gateway.Url);
        List<SseEvent> everything = await all.DrainAsync(TimeSpan.FromSeconds(1));
        ulong resumeAfter = everything.Single(e => e.Data.MemberId == "n-b").Id; // n-b's latest change: dead
        await DeliverAsync(gateway.Http, Event("n-a", "left", "left", 1));
        await using SseClient resumed = await SseClient.ConnectAsync(gateway.Url, resumeAfter);
        List<SseEvent> after = await resumed.DrainAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(["n-c@4/alive", "n-a@1/left"], after.Select(e => e.Data.Key));
        Assert.All(after, e => Assert.True(e.Id > resumeAfter));
        Assert.Equal("joined", after[0].Data.Kind); // a replayed change, not the view

        // An id from before the ring (or a restart) gets the view again; a malformed one counts as absent.
        await using SseClient stale = await SseClient.ConnectAsync(gateway.Url, 5);
        Assert.Equal(["n-b@1/dead", "n-c@4/alive", "n-a@1/left"], (await stale.DrainAsync(TimeSpan.FromSeconds(1))).Select(e => e.Data.Key));
        await using SseClient malformed = await SseClient.ConnectAsync(gateway.Url, rawLastEventId: "not-a-number");
        Assert.Equal(3, (await malformed.DrainAsync(TimeSpan.FromSeconds(1))).Count);
    }

    [Fact]
    public async Task An_id_older_than_the_retained_events_gets_the_view_again()
    {
        await using GatewayHost gateway = await StartDaprGateway(new() { ["Gateway:EventsRetained"] = "2" });
        await using SseClient watching = await SseClient.ConnectAsync(gateway.Url);
        await DeliverAsync(gateway.Http, Event("n-a", "joined", "alive", 1));
        ulong first = (await watching.NextAsync(_ => true, TimeSpan.FromSeconds(10))).Id;
        for (uint i = 2; i <= 4; i++)
        {
            await DeliverAsync(gateway.Http, Event("n-a", "alive", "alive", i));
        }

        await using SseClient resumed = await SseClient.ConnectAsync(gateway.Url, first);
        SseEvent only = Assert.Single(await resumed.DrainAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(("n-a@4/alive", "gateway"), (only.Data.Key, only.Data.ObservedBy));
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_cut_off_while_another_keeps_receiving()
    {
        await using GatewayHost gateway = await StartDaprGateway(new() { ["Gateway:EventsClientBuffer"] = "64" });
        await using SseClient reading = await SseClient.ConnectAsync(gateway.Url);

        // A raw socket with a small receive buffer that never reads after the request.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 2048 };
        await stalled.ConnectAsync(gateway.Url.Host, gateway.Url.Port);
        await stalled.SendAsync(Encoding.ASCII.GetBytes($"GET {EventStreamApi.Route} HTTP/1.1\r\nHost: {gateway.Url.Authority}\r\n\r\n"), SocketFlags.None);

        // Many members, each one change of the gateway's view, applied as every source applies them
        // (the topic route is too slow to outrun the sockets' buffers: loopback grows them to megabytes),
        // in steps the reading client keeps up with, until the stalled one is cut off.
        RoutingTable table = gateway.Services.GetRequiredService<RoutingTable>();
        MembershipEventLog log = gateway.Services.GetRequiredService<MembershipEventLog>();
        await Poll.UntilAsync(() => log.Subscribers == 2, TimeSpan.FromSeconds(10), "both clients subscribed");
        int total = 0;
        while (log.Subscribers == 2 && total < 200_000)
        {
            for (int i = 0; i < 50; i++, total++)
            {
                Assert.True(table.Apply(Event($"n-{total:D6}", "joined", "alive", 1).Member));
            }

            string last = $"n-{total - 1:D6}";
            await reading.NextAsync(e => e.Data.MemberId == last, TimeSpan.FromSeconds(20));
        }

        Assert.Equal(1, log.Subscribers);
        // An open stream never ends (keep-alives go on): reaching its end proves the gateway closed it.
        (bool ended, long bytes) = await EndsWithinAsync(stalled, TimeSpan.FromSeconds(20));
        Assert.True(ended, $"the stalled client's connection is still open ({bytes} bytes came)");
        await DeliverAsync(gateway.Http, Event("n-last", "joined", "alive", 1));
        await reading.NextAsync(e => e.Data.MemberId == "n-last", TimeSpan.FromSeconds(20));
        Assert.Equal(total + 1, reading.Seen.Count);
        Assert.Equal(total + 1, reading.Seen.Select(e => e.Data.Key).Distinct().Count());
        Assert.False(reading.Ended);
    }

    private static async Task<(bool Ended, long Bytes)> EndsWithinAsync(Socket socket, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        byte[] buffer = new byte[64 * 1024];
        long bytes = 0;
        try
        {
            int got;
            while ((got = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                bytes += got;
            }

            return (true, bytes);
        }
        catch (SocketException)
        {
            return (true, bytes); // reset
        }
        catch (OperationCanceledException)
        {
            return (false, bytes);
        }
    }
}
