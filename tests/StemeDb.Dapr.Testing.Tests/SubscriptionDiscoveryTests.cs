using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>Reading the app's subscriptions once from <c>GET /dapr/subscribe</c> (daprd-behaviour §5).</summary>
public sealed class SubscriptionDiscoveryTests
{
    [Fact]
    public async Task V1_and_v2_entries_are_read_with_keys_in_any_case()
    {
        const string List = """
            [
              {"pubsubName":"pubsub","topic":"v1","route":"plain"},
              {"PUBSUBNAME":"pubsub","TOPIC":"rules","Routes":{"rules":[{"match":"event.type == 'x'","path":"/cel"},{"match":"","path":"/catch-all"}],"default":"/fallback"}},
              {"pubsubname":"pubsub","topic":"default","routes":{"rules":[{"match":"event.type == 'x'","path":"/cel"}],"default":"/fallback"}},
              {"pubsubname":"pubsub","topic":"none"}
            ]
            """;
        var log = new ListLogger();
        await using SubscriberRig rig = await Rig(_ => Results.Text(List, "application/json"), log);
        Assert.Equal(
            [("pubsub", "v1", "/plain"), ("pubsub", "rules", "/catch-all"), ("pubsub", "default", "/fallback")],
            rig.Sidecar.Subscriptions);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("none", StringComparison.Ordinal)); // the entry without a route
    }

    [Theory]
    [InlineData(404, false)] // "no subscriptions": no error
    [InlineData(500, true)]
    [InlineData(401, true)]
    [InlineData(204, true)]
    public async Task Other_answers_than_200_mean_no_subscriptions_and_no_exception(int status, bool logged)
    {
        var log = new ListLogger();
        await using SubscriberRig rig = await Rig(_ => Results.StatusCode(status), log);
        Assert.Empty(rig.Sidecar.Subscriptions);
        Assert.True(rig.Sidecar.IsInitialized);
        Assert.Equal(logged, log.Entries.Any(e => e.Level == LogLevel.Error));
    }

    [Fact]
    public async Task An_unreadable_list_means_no_subscriptions_and_an_error()
    {
        var log = new ListLogger();
        await using SubscriberRig rig = await Rig(_ => Results.Text("{\"not\":\"a list\"}", "application/json"), log);
        Assert.Empty(rig.Sidecar.Subscriptions);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Error);
    }

    [Fact]
    public async Task The_list_is_read_once_with_the_app_id_and_the_app_token()
    {
        int reads = 0;
        var headers = new ConcurrentQueue<(string AppId, string Token)>();
        await using SubscriberRig rig = await Rig(
            c =>
            {
                Interlocked.Increment(ref reads);
                headers.Enqueue((c.Request.Headers["dapr-app-id"].ToString(), c.Request.Headers["dapr-api-token"].ToString()));
                return Results.Json(Array.Empty<object>());
            },
            new ListLogger(),
            appApiToken: "app-secret");
        await rig.Sidecar.LoadSubscriptionsAsync();
        Assert.Equal(1, reads);
        Assert.Equal(("app", "app-secret"), Assert.Single(headers));
    }

    private static async Task<SubscriberRig> Rig(Func<HttpContext, IResult> subscribe, ILogger log, string? appApiToken = null)
    {
        WebApplication app = await TestApps.StartAsync(a => a.MapGet("/dapr/subscribe", subscribe));
        var sidecar = new StandInSidecar("app", app.Url(), new StandInBroker(1), new ConcurrentDictionary<string, StandInSidecar>()) { Logger = log, AppApiToken = appApiToken };
        await sidecar.StartAsync();
        await sidecar.LoadSubscriptionsAsync();
        return new SubscriberRig(app, sidecar);
    }

    /// <summary>Keeps what the sidecar logs.</summary>
    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
