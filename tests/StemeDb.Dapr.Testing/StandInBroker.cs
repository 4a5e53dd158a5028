namespace StemeDb.Dapr.Testing;

/// <summary>
/// The message broker shared by the stand-in sidecars, as Redis Streams is to daprd: a retained stream per
/// (pubsub, topic), consumer groups named by each sidecar's consumerID (a new group replays the stream; one
/// group shared by several sidecars splits the messages between them; distinct groups each get all), and
/// the faults a real network adds on top: lost, duplicated and delayed (reordered) deliveries.
/// </summary>
public sealed class StandInBroker
{
    private readonly Dictionary<(string PubSub, string Topic), TopicStream> _streams = [];
    private readonly Random _random;
    private readonly Lock _lock = new();
    private int _jobs;
    private TaskCompletionSource? _idle;
    private int _delivered;
    private int _dropped;
    private int _lost;
    private int _duplicated;
    private int _exhausted;
    private int _redelivered;

    public StandInBroker(int seed) => _random = new Random(seed);

    /// <summary>The share of first deliveries the broker loses on purpose (acked without reaching the app).</summary>
    public double Loss { get; set; }

    /// <summary>The share of first deliveries the broker makes twice on purpose.</summary>
    public double Duplicates { get; set; }

    /// <summary>Each delivery waits up to this long: messages overtake each other.</summary>
    public TimeSpan MaxDelay { get; set; }

    /// <summary>Deliveries the app took.</summary>
    public int Delivered => _delivered;

    /// <summary>Deliveries the app dropped (DROP or 404), and expired events.</summary>
    public int Dropped => _dropped;

    /// <summary>Messages the broker lost on purpose (per consumer group).</summary>
    public int Lost => _lost;

    /// <summary>Messages the broker delivered twice on purpose (per consumer group).</summary>
    public int Duplicated => _duplicated;

    /// <summary>Deliveries that failed every try the inbound policy allowed (one without a policy) and were acked anyway: gone.</summary>
    public int Exhausted => _exhausted;

    /// <summary>Deliveries made again because the first had been pending longer than the processing timeout.</summary>
    public int Redelivered => _redelivered;

    /// <summary>Hands a CloudEvent to the topic's stream; every consumer group reads it in the background.</summary>
    public void Publish(string pubsub, string topic, byte[] cloudEvent) => Publish(pubsub, topic, cloudEvent, new Dictionary<string, string>(), maxLenApprox: 0);

    /// <summary>XADD with the publish metadata (sent to the app as headers) and the publisher's <c>maxLenApprox</c>.</summary>
    // daprd: contrib pubsub/redis/redis.go Publish
    public void Publish(string pubsub, string topic, byte[] cloudEvent, IReadOnlyDictionary<string, string> metadata, int maxLenApprox)
    {
        lock (_lock)
        {
            TopicStream stream = Stream(pubsub, topic);
            stream.Append(cloudEvent, metadata, maxLenApprox);
            foreach (ConsumerGroup group in stream.Groups.Values)
            {
                group.Signal();
            }
        }
    }

    /// <summary>Starts the sidecar's subscription (in its consumer group for the pubsub) to a topic.</summary>
    public void Subscribe(string pubsub, string topic, string route, StandInSidecar sidecar) => sidecar.Subscribe(new Subscription(pubsub, topic, route));

    /// <summary>How many messages the topic's stream retains.</summary>
    public int Retained(string pubsub, string topic)
    {
        lock (_lock)
        {
            return _streams.TryGetValue((pubsub, topic), out TopicStream? stream) ? stream.Count : 0;
        }
    }

    /// <summary>The consumer groups created on the topic's stream (groups are never deleted).</summary>
    public IReadOnlyList<string> ConsumerGroups(string pubsub, string topic)
    {
        lock (_lock)
        {
            return _streams.TryGetValue((pubsub, topic), out TopicStream? stream) ? [.. stream.Groups.Keys] : [];
        }
    }

    /// <summary>
    /// Completes when every consumer group that has a live reader has read and acked everything and no
    /// delivery is running. A subscriber sees a message before its delivery has been counted, so counters
    /// are read after this, not after the subscriber.
    /// </summary>
    public Task IdleAsync()
    {
        lock (_lock)
        {
            if (IsIdle())
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    /// <summary>XGROUP CREATE from id 0 with MKSTREAM (an existing group is joined, BUSYGROUP ignored).</summary>
    // daprd: contrib pubsub/redis/redis.go CreateConsumerGroup
    internal ConsumerGroup Join(string pubsub, string topic, string groupName)
    {
        lock (_lock)
        {
            TopicStream stream = Stream(pubsub, topic);
            if (!stream.Groups.TryGetValue(groupName, out ConsumerGroup? group))
            {
                group = new ConsumerGroup(groupName, stream);
                stream.Groups[groupName] = group;
            }

            group.Consumers++;
            return group;
        }
    }

    internal void Leave(ConsumerGroup group)
    {
        lock (_lock)
        {
            group.Consumers--;
            CheckIdle();
        }
    }

    internal (DeliveryJob? Job, Task? Published) ReadNew(ConsumerGroup group, Subscription subscription)
    {
        lock (_lock)
        {
            if (group.ReadNew(out Task? published) is not { } entry)
            {
                return (null, published);
            }

            _jobs++;
            return (new DeliveryJob(group, subscription, entry, Redelivery: false), null);
        }
    }

    internal List<DeliveryJob> ClaimStale(ConsumerGroup group, Subscription subscription, TimeSpan processingTimeout)
    {
        lock (_lock)
        {
            List<DeliveryJob> jobs = [.. group.ClaimStale(processingTimeout).Select(e => new DeliveryJob(group, subscription, e, Redelivery: true))];
            _jobs += jobs.Count;
            return jobs;
        }
    }

    internal void EndJob()
    {
        lock (_lock)
        {
            _jobs--;
            CheckIdle();
        }
    }

    /// <summary>
    /// Delivers one job with the configured faults (on first deliveries only), counts what became of it and
    /// acks it, unless the sidecar stopped mid-delivery: then it stays pending.
    /// </summary>
    internal async Task ProcessAsync(DeliveryJob job, StandInSidecar sidecar, CancellationToken cancellationToken)
    {
        TimeSpan[] delays;
        lock (_lock)
        {
            int copies = job.Redelivery ? 1 : _random.NextDouble() < Loss ? 0 : _random.NextDouble() < Duplicates ? 2 : 1;
            delays = [.. Enumerable.Range(0, copies).Select(_ => MaxDelay * _random.NextDouble())];
        }

        if (job.Redelivery)
        {
            Interlocked.Increment(ref _redelivered);
        }
        else if (delays.Length != 1)
        {
            Interlocked.Increment(ref delays.Length == 0 ? ref _lost : ref _duplicated);
        }

        DeliveryOutcome[] outcomes = await Task.WhenAll(delays.Select(async delay =>
        {
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return DeliveryOutcome.Abandoned;
            }

            return await sidecar.DeliverEntryAsync(job.Subscription, job.Entry, cancellationToken);
        }));
        foreach (DeliveryOutcome outcome in outcomes)
        {
            switch (outcome)
            {
                case DeliveryOutcome.Delivered:
                    Interlocked.Increment(ref _delivered);
                    break;
                case DeliveryOutcome.Dropped:
                    Interlocked.Increment(ref _dropped);
                    break;
                case DeliveryOutcome.Exhausted:
                    Interlocked.Increment(ref _exhausted);
                    break;
                default:
                    break;
            }
        }

        if (!outcomes.Contains(DeliveryOutcome.Abandoned))
        {
            lock (_lock)
            {
                job.Group.Ack(job.Entry.Id);
            }
        }
    }

    private TopicStream Stream(string pubsub, string topic)
    {
        if (!_streams.TryGetValue((pubsub, topic), out TopicStream? stream))
        {
            stream = new TopicStream();
            _streams[(pubsub, topic)] = stream;
        }

        return stream;
    }

    private bool IsIdle() => _jobs == 0 && _streams.Values.SelectMany(s => s.Groups.Values).All(g => g.Consumers == 0 || g.Drained);

    private void CheckIdle()
    {
        if (_idle is not null && IsIdle())
        {
            _idle.TrySetResult();
            _idle = null;
        }
    }
}
