using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// Delivery to the subscribing app (daprd-behaviour §3): how answers are read, inbound retries, exhausted
/// deliveries acked and counted as lost, reclaim after the processing timeout, dead letters and the broker's faults.
/// </summary>
public sealed class DeliveryTests
{
    /// <summary>Inbound retries for pubsub: 2 retries 10 ms apart, each try bounded by <c>{timeout}</c>.</summary>
    private const string InboundTemplate = """
        apiVersion: dapr.io/v1alpha1
        kind: Resiliency
        metadata:
          name: inbound
        spec:
          policies:
            timeouts:
              deliver: {timeout}
            retries:
              deliver:
                policy: constant
                duration: 10ms
                maxRetries: 2
          targets:
            components:
              pubsub:
                inbound: { timeout: deliver, retry: deliver }
        """;

    private readonly ConcurrentDictionary<string, StandInSidecar> _registry = new();
    private readonly StandInBroker _broker = new(1);

    // Generous, so that a cold first request is not a timeout; the timeout test sets its own.
    private static ResiliencyPolicies Inbound(string timeout = "5s") => ResiliencyPolicies.Parse(InboundTemplate.Replace("{timeout}", timeout, StringComparison.Ordinal));

    [Theory]
    [InlineData(200, "{\"status\":\"SUCCESS\"}", true, 1)]
    [InlineData(200, "", true, 1)]
    [InlineData(200, "{}", true, 1)]
    [InlineData(200, "not json", true, 1)] // undecodable: success
    [InlineData(200, "{\"status\":5}", true, 1)] // a number where the string goes: undecodable, success
    [InlineData(204, "", true, 1)]
    [InlineData(200, "{\"status\":\"DROP\"}", false, 1)]
    [InlineData(404, "", false, 1)] // dropped, not retried
    [InlineData(200, "{\"status\":\"RETRY\"}", false, 3)]
    [InlineData(200, "{\"status\":\"success\"}", false, 3)] // case-sensitive: an unknown status is retried
    [InlineData(500, "", false, 3)]
    [InlineData(409, "", false, 3)]
    public async Task Deliveries_follow_the_app_answer_and_retry_per_the_inbound_policy(int code, string body, bool taken, int calls)
    {
        int seen = 0;
        await using WebApplication app = await TestApps.StartAsync(a => a.MapPost("/events/t", async (HttpContext c) =>
        {
            Interlocked.Increment(ref seen);
            Assert.Equal("application/cloudevents+json", c.Request.ContentType);
            c.Response.StatusCode = code;
            await c.Response.WriteAsync(body);
        }));
        await using var sidecar = new StandInSidecar("app", app.Url(), _broker, _registry) { Resiliency = Inbound() };
        await sidecar.StartAsync();
        Assert.Equal(taken, await sidecar.DeliverAsync("/events/t", "{\"specversion\":\"1.0\",\"data\":{}}"u8.ToArray()));
        Assert.Equal(calls, seen);
    }

    [Fact]
    public async Task Without_an_inbound_policy_a_failed_delivery_is_tried_once_acked_and_counted_as_exhausted()
    {
        int seen = 0;
        await using SubscriberRig subscriber = await Subscriber("app", resiliency: null, async (_, c) =>
        {
            Interlocked.Increment(ref seen);
            await Task.CompletedTask;
            return Results.StatusCode(500);
        });
        _broker.Publish("pubsub", "orders", Event(1));
        await _broker.IdleAsync().WaitAsync(TestApps.Patience); // idle: acked, not pending
        Assert.Equal((1, 1, 0), (seen, _broker.Exhausted, _broker.Delivered));
    }

    [Fact]
    public async Task Retries_that_run_out_end_in_a_counted_loss()
    {
        int seen = 0;
        await using SubscriberRig subscriber = await Subscriber("app", Inbound(), async (_, c) =>
        {
            Interlocked.Increment(ref seen);
            await Task.CompletedTask;
            return Results.Json(new { status = "RETRY" });
        });
        _broker.Publish("pubsub", "orders", Event(1));
        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.Equal((3, 1, 0, 0), (seen, _broker.Exhausted, _broker.Delivered, _broker.Dropped));
    }

    [Fact]
    public async Task A_delivery_that_times_out_is_retried_not_silently_lost()
    {
        int seen = 0;
        await using SubscriberRig subscriber = await Subscriber("app", Inbound("300ms"), async (_, c) =>
        {
            if (Interlocked.Increment(ref seen) == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), c.RequestAborted); // past the 300 ms timeout
            }

            return Results.Ok();
        });
        _broker.Publish("pubsub", "orders", Event(1));
        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.Equal((2, 1, 0), (seen, _broker.Delivered, _broker.Exhausted));
    }

    [Fact]
    public async Task A_delivery_pending_past_the_processing_timeout_is_redelivered_while_the_first_still_runs()
    {
        var component = new PubSubComponent("pubsub") { ProcessingTimeout = TimeSpan.FromMilliseconds(300), RedeliverInterval = TimeSpan.FromMilliseconds(50) };
        var starts = new ConcurrentQueue<TimeSpan>();
        var firstEnded = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        int seen = 0;
        await using SubscriberRig subscriber = await Subscriber("slow", resiliency: null, async (_, c) =>
        {
            starts.Enqueue(clock.Elapsed);
            if (Interlocked.Increment(ref seen) == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5), c.RequestAborted); // not cancelled by the reclaim
                firstEnded = clock.Elapsed;
            }

            return Results.Ok();
        }, component);
        _broker.Publish("pubsub", "orders", Event(1));
        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.True(starts.Count >= 2, $"{starts.Count} deliveries");
        Assert.True(starts.ElementAt(1) < firstEnded, $"the redelivery started at {starts.ElementAt(1)}, the first ended at {firstEnded}");
        Assert.True(_broker.Redelivered >= 1);
        Assert.Equal(starts.Count, _broker.Delivered); // the app took every copy: a duplicate
    }

    [Fact]
    public async Task A_dropped_event_goes_to_the_subscriptions_dead_letter_topic()
    {
        var dead = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using WebApplication app = await TestApps.SubscriberAsync(
            (envelope, c) =>
            {
                if (c.Request.Path.Value!.EndsWith("orders-dlq", StringComparison.Ordinal))
                {
                    dead.TrySetResult(TestApps.N(envelope));
                    return Task.FromResult(Results.Ok());
                }

                return Task.FromResult(Results.Json(new { status = "DROP" }));
            },
            TestApps.Entry("orders", deadLetterTopic: "orders-dlq"),
            TestApps.Entry("orders-dlq"));
        await using var sidecar = new StandInSidecar("app", app.Url(), _broker, _registry);
        await sidecar.StartAsync();
        await sidecar.LoadSubscriptionsAsync();
        _broker.Publish("pubsub", "orders", Event(7));
        Assert.Equal(7, await dead.Task.WaitAsync(TestApps.Patience));
        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.Equal((1, 1), (_broker.Dropped, _broker.Delivered));
    }

    [Fact]
    public async Task The_brokers_fault_knobs_lose_and_duplicate_first_deliveries()
    {
        int seen = 0;
        var lossy = new StandInBroker(2) { Loss = 1 };
        var doubling = new StandInBroker(3) { Duplicates = 1, MaxDelay = TimeSpan.FromMilliseconds(20) };
        foreach (StandInBroker broker in new[] { lossy, doubling })
        {
            await using WebApplication app = await TestApps.SubscriberAsync(
                (_, _) =>
                {
                    Interlocked.Increment(ref seen);
                    return Task.FromResult(Results.Ok());
                },
                TestApps.Entry("orders"));
            await using var sidecar = new StandInSidecar("app", app.Url(), broker, new ConcurrentDictionary<string, StandInSidecar>());
            await sidecar.StartAsync();
            await sidecar.LoadSubscriptionsAsync();
            broker.Publish("pubsub", "orders", Event(1));
            await broker.IdleAsync().WaitAsync(TestApps.Patience);
        }

        Assert.Equal((1, 0), (lossy.Lost, lossy.Delivered));
        Assert.Equal((1, 2), (doubling.Duplicated, doubling.Delivered));
        Assert.Equal(2, seen);
    }

    private static byte[] Event(int n) => System.Text.Encoding.UTF8.GetBytes($"{{\"specversion\":\"1.0\",\"id\":\"{n}\",\"data\":{{\"n\":{n}}}}}");

    private async Task<SubscriberRig> Subscriber(string appId, ResiliencyPolicies? resiliency, Func<System.Text.Json.JsonElement, HttpContext, Task<IResult>> handle, PubSubComponent? component = null)
    {
        WebApplication app = await TestApps.SubscriberAsync(handle, TestApps.Entry("orders"));
        var sidecar = new StandInSidecar(appId, app.Url(), _broker, _registry) { Resiliency = resiliency, Components = component is null ? null : [component] };
        await sidecar.StartAsync();
        await sidecar.LoadSubscriptionsAsync();
        return new SubscriberRig(app, sidecar);
    }
}
