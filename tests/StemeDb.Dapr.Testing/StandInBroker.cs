using System.Collections.Concurrent;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// The message broker shared by the stand-in sidecars (what Redis is to daprd), with the faults a real
/// one has: lost, duplicated and reordered (delayed) deliveries. Every subscription gets every message
/// (one consumer group per sidecar, as with a per-instance consumerID).
/// </summary>
public sealed class StandInBroker
{
    private readonly ConcurrentBag<(string PubSub, string Topic, string Route, StandInSidecar Sidecar)> _subscriptions = [];
    private readonly Random _random;
    private readonly Lock _lock = new();

    public StandInBroker(int seed) => _random = new Random(seed);

    public double Loss { get; set; }

    public double Duplicates { get; set; }

    /// <summary>Each delivery waits up to this long: messages overtake each other.</summary>
    public TimeSpan MaxDelay { get; set; }

    public int Delivered => _delivered;

    public int Dropped => _dropped;

    /// <summary>Messages the broker lost on purpose (per subscriber).</summary>
    public int Lost => _lost;

    /// <summary>Messages the broker delivered twice on purpose (per subscriber).</summary>
    public int Duplicated => _duplicated;

    private int _delivered;
    private int _dropped;
    private int _lost;
    private int _duplicated;
    private int _inFlight;
    private TaskCompletionSource _idle = NewIdle(completed: true);

    public void Subscribe(string pubsub, string topic, string route, StandInSidecar sidecar) => _subscriptions.Add((pubsub, topic, route, sidecar));

    /// <summary>Hands a CloudEvent to every subscriber of the topic, in the background, with the configured faults.</summary>
    public void Publish(string pubsub, string topic, byte[] cloudEvent)
    {
        foreach (var s in _subscriptions.Where(s => s.PubSub == pubsub && s.Topic == topic))
        {
            int copies;
            TimeSpan[] delays;
            lock (_lock)
            {
                copies = _random.NextDouble() < Loss ? 0 : _random.NextDouble() < Duplicates ? 2 : 1;
                delays = [.. Enumerable.Range(0, copies).Select(_ => MaxDelay * _random.NextDouble())];
            }

            if (copies != 1)
            {
                Interlocked.Increment(ref copies == 0 ? ref _lost : ref _duplicated);
            }

            foreach (TimeSpan delay in delays)
            {
                Begin();
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await Task.Delay(delay);
                        bool ok = await s.Sidecar.DeliverAsync(s.Route, cloudEvent);
                        Interlocked.Increment(ref ok ? ref _delivered : ref _dropped);
                    }
                    finally
                    {
                        End();
                    }
                });
            }
        }
    }

    /// <summary>
    /// Completes when no delivery is in flight. A subscriber sees a message before the delivery that
    /// carried it has returned and been counted, so counters are read after this, not after the subscriber.
    /// </summary>
    public Task IdleAsync()
    {
        lock (_lock)
        {
            return _idle.Task;
        }
    }

    private void Begin()
    {
        lock (_lock)
        {
            if (_inFlight++ == 0)
            {
                _idle = NewIdle(completed: false);
            }
        }
    }

    private void End()
    {
        TaskCompletionSource? done = null;
        lock (_lock)
        {
            if (--_inFlight == 0)
            {
                done = _idle;
            }
        }

        done?.TrySetResult();
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            idle.SetResult();
        }

        return idle;
    }
}
