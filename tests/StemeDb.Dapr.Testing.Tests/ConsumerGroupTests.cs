using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// Redis Streams consumer groups as daprd uses them (daprd-behaviour §4): a group per consumerID created at
/// the stream's start (replay), shared groups compete, distinct ones each get all, parallel workers, trimming.
/// </summary>
public sealed class ConsumerGroupTests
{
    private readonly ConcurrentDictionary<string, StandInSidecar> _registry = new();
    private readonly StandInBroker _broker = new(1);

    [Fact]
    public async Task A_new_consumer_group_replays_the_retained_stream_and_an_existing_one_does_not()
    {
        await using StandInSidecar publisher = await TestApps.CallerAsync(_broker, _registry);
        for (int n = 0; n < 5; n++)
        {
            await TestApps.PublishAsync(publisher, "orders", n);
        }

        var first = new ConcurrentBag<int>();
        await using (WebApplication app = await Counting(first))
        {
            await using StandInSidecar a = await Subscribed("a", app, null);
            await _broker.IdleAsync().WaitAsync(TestApps.Patience);
            Assert.Equal([0, 1, 2, 3, 4], first.Order());
        }

        // Another consumerID: a new group, the whole stream again.
        var second = new ConcurrentBag<int>();
        await using (WebApplication app = await Counting(second))
        {
            await using StandInSidecar b = await Subscribed("b", app, null);
            await _broker.IdleAsync().WaitAsync(TestApps.Patience);
            Assert.Equal([0, 1, 2, 3, 4], second.Order());
        }

        // The same consumerID again (app-id "a"): the group exists and has acked everything.
        var again = new ConcurrentBag<int>();
        await using (WebApplication app = await Counting(again))
        {
            await using StandInSidecar a2 = await Subscribed("a", app, null);
            await TestApps.PublishAsync(publisher, "orders", 5);
            await _broker.IdleAsync().WaitAsync(TestApps.Patience);
            Assert.Equal([5], again);
        }

        Assert.Equal(["a", "b"], _broker.ConsumerGroups("pubsub", "orders").Order());
    }

    [Fact]
    public async Task Sidecars_sharing_a_consumerID_compete_and_distinct_ones_each_get_everything()
    {
        var shared = new PubSubComponent("pubsub") { ConsumerId = "workers", Concurrency = 1, QueueDepth = 1 };
        var one = new ConcurrentBag<int>();
        var two = new ConcurrentBag<int>();
        var solo = new ConcurrentBag<int>();
        await using WebApplication app1 = await Counting(one, TimeSpan.FromMilliseconds(20));
        await using WebApplication app2 = await Counting(two, TimeSpan.FromMilliseconds(20));
        await using WebApplication app3 = await Counting(solo);
        await using StandInSidecar w1 = await Subscribed("worker-1", app1, shared);
        await using StandInSidecar w2 = await Subscribed("worker-2", app2, shared);
        await using StandInSidecar s = await Subscribed("solo", app3, null);
        await using StandInSidecar publisher = await TestApps.CallerAsync(_broker, _registry);
        for (int n = 0; n < 20; n++)
        {
            await TestApps.PublishAsync(publisher, "orders", n);
        }

        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.Equal(Enumerable.Range(0, 20), one.Concat(two).Order()); // each message once, to one of them
        Assert.NotEmpty(one);
        Assert.NotEmpty(two);
        Assert.Equal(Enumerable.Range(0, 20), solo.Order());
        Assert.Equal("workers", w1.ConsumerGroupNames["pubsub"]);
    }

    [Fact]
    public async Task A_uuid_consumerID_is_a_new_group_at_every_start()
    {
        var component = new PubSubComponent("pubsub") { ConsumerId = "{uuid}" };
        await using WebApplication app = await Counting(new ConcurrentBag<int>());
        await using StandInSidecar first = await Subscribed("gw", app, component);
        await using StandInSidecar second = await Subscribed("gw-2", app, component);
        Assert.NotEqual(first.ConsumerGroupNames["pubsub"], second.ConsumerGroupNames["pubsub"]);
        Assert.True(Guid.TryParse(first.ConsumerGroupNames["pubsub"], out _));
    }

    [Fact]
    public async Task Ten_workers_deliver_in_parallel_and_one_worker_in_order()
    {
        foreach ((int concurrency, bool parallel) in new[] { (10, true), (1, false) })
        {
            int running = 0;
            int most = 0;
            var order = new ConcurrentQueue<int>();
            string topic = $"t{concurrency}";
            await using WebApplication app = await TestApps.SubscriberAsync(
                async (envelope, c) =>
                {
                    int now = Interlocked.Increment(ref running);
                    InterlockedMax(ref most, now);
                    order.Enqueue(TestApps.N(envelope));
                    await Task.Delay(100, c.RequestAborted);
                    Interlocked.Decrement(ref running);
                    return Results.Ok();
                },
                TestApps.Entry(topic));
            await using var subscriber = new StandInSidecar($"sub-{concurrency}", app.Url(), _broker, _registry) { Components = [new PubSubComponent("pubsub") { Concurrency = concurrency }] };
            await subscriber.StartAsync();
            await subscriber.LoadSubscriptionsAsync();
            await using StandInSidecar publisher = await TestApps.CallerAsync(_broker, _registry, $"pub-{concurrency}");
            for (int n = 0; n < 10; n++)
            {
                await TestApps.PublishAsync(publisher, topic, n);
            }

            await _broker.IdleAsync().WaitAsync(TestApps.Patience);
            Assert.Equal(10, order.Count);
            if (parallel)
            {
                Assert.True(most > 1, $"at most {most} deliveries ran at once");
            }
            else
            {
                Assert.Equal(1, most);
                Assert.Equal(Enumerable.Range(0, 10), order);
            }
        }
    }

    [Fact]
    public async Task MaxLenApprox_trims_the_stream_so_a_new_group_replays_only_the_newest()
    {
        await using StandInSidecar publisher = await TestApps.CallerAsync(_broker, _registry, components: [new PubSubComponent("pubsub") { MaxLenApprox = 3 }]);
        for (int n = 0; n < 10; n++)
        {
            await TestApps.PublishAsync(publisher, "orders", n);
        }

        Assert.Equal(3, _broker.Retained("pubsub", "orders"));
        var seen = new ConcurrentBag<int>();
        await using WebApplication app = await Counting(seen);
        await using StandInSidecar subscriber = await Subscribed("late", app, null);
        await _broker.IdleAsync().WaitAsync(TestApps.Patience);
        Assert.Equal([7, 8, 9], seen.Order());
    }

    [Fact]
    public void Without_maxLenApprox_nothing_is_trimmed()
    {
        for (int n = 0; n < 150; n++)
        {
            _broker.Publish("pubsub", "many", "{}"u8.ToArray());
        }

        Assert.Equal(150, _broker.Retained("pubsub", "many"));
    }

    private static Task<WebApplication> Counting(ConcurrentBag<int> seen, TimeSpan delay = default) =>
        TestApps.SubscriberAsync(
            async (envelope, c) =>
            {
                seen.Add(TestApps.N(envelope));
                await Task.Delay(delay, c.RequestAborted);
                return Results.Ok();
            },
            TestApps.Entry("orders"));

    private async Task<StandInSidecar> Subscribed(string appId, WebApplication app, PubSubComponent? component)
    {
        var sidecar = new StandInSidecar(appId, app.Url(), _broker, _registry) { Components = component is null ? null : [component] };
        await sidecar.StartAsync();
        await sidecar.LoadSubscriptionsAsync();
        return sidecar;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
