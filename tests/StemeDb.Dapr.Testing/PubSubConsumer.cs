using System.Threading.Channels;

namespace StemeDb.Dapr.Testing;

/// <summary>A message taken from a group for delivery: first read, or claimed again after the processing timeout.</summary>
internal sealed record DeliveryJob(ConsumerGroup Group, Subscription Subscription, StreamEntry Entry, bool Redelivery);

/// <summary>
/// One sidecar's consumer on one pub/sub component: per subscribed topic a reader (new entries of its group)
/// and a reclaim loop (entries pending past <c>processingTimeout</c>, every <c>redeliverInterval</c>), all
/// feeding one queue of <c>queueDepth</c> that <c>concurrency</c> workers empty in parallel, out of order.
/// </summary>
// daprd: contrib pubsub/redis/redis.go worker, reclaimPendingMessages; pkg/runtime/subscription/subscription.go New
internal sealed class PubSubConsumer
{
    private readonly StandInBroker _broker;
    private readonly StandInSidecar _sidecar;
    private readonly PubSubComponent _component;
    private readonly string _group;
    private readonly Channel<DeliveryJob> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly List<ConsumerGroup> _joined = [];

    public PubSubConsumer(StandInBroker broker, StandInSidecar sidecar, PubSubComponent component, string group)
    {
        _broker = broker;
        _sidecar = sidecar;
        _component = component;
        _group = group;
        _queue = Channel.CreateBounded<DeliveryJob>(Math.Max(1, component.QueueDepth));
        for (int i = 0; i < Math.Max(1, component.Concurrency); i++)
        {
            _loops.Add(Task.Run(WorkAsync));
        }
    }

    public void Subscribe(Subscription subscription)
    {
        ConsumerGroup group = _broker.Join(subscription.PubSub, subscription.Topic, _group);
        lock (_joined)
        {
            _joined.Add(group);
        }

        _loops.Add(Task.Run(() => ReadAsync(group, subscription)));
        _loops.Add(Task.Run(() => ReclaimAsync(group, subscription)));
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // Jobs still queued were never delivered: they stay pending in the group, as in Redis.
        while (_queue.Reader.TryRead(out _))
        {
            _broker.EndJob();
        }

        lock (_joined)
        {
            foreach (ConsumerGroup group in _joined)
            {
                _broker.Leave(group);
            }
        }

        _stop.Dispose();
    }

    private async Task ReadAsync(ConsumerGroup group, Subscription subscription)
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            (DeliveryJob? job, Task? published) = _broker.ReadNew(group, subscription);
            if (job is null)
            {
                await published!.WaitAsync(stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            await EnqueueAsync(job, stop);
        }
    }

    private async Task ReclaimAsync(ConsumerGroup group, Subscription subscription)
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, _component.RedeliverInterval.Ticks)), stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (DeliveryJob job in _broker.ClaimStale(group, subscription, _component.ProcessingTimeout))
            {
                await EnqueueAsync(job, stop);
            }
        }
    }

    private async Task EnqueueAsync(DeliveryJob job, CancellationToken stop)
    {
        try
        {
            await _queue.Writer.WriteAsync(job, stop);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            _broker.EndJob(); // stays pending, undelivered
        }
    }

    private async Task WorkAsync()
    {
        CancellationToken stop = _stop.Token;
        try
        {
            await foreach (DeliveryJob job in _queue.Reader.ReadAllAsync(stop))
            {
                try
                {
                    await _broker.ProcessAsync(job, _sidecar, stop);
                }
                finally
                {
                    _broker.EndJob();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
