namespace StemeDb.Membership.Simulation;

/// <summary>
/// Virtual time for large simulations: a <see cref="TimeProvider"/> whose timers sit in a priority queue
/// and fire, in (due time, creation order), only when <see cref="RunUntil"/> moves the clock. Unlike
/// FakeTimeProvider it costs O(log n) per timer event, which a thousand members with their probes,
/// gossip and in-flight datagrams need. Thread-safe, but meant to be driven by one thread.
/// </summary>
public sealed class VirtualTimeScheduler : TimeProvider, IVirtualClock
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<Entry, (long Due, long Order)> _queue = new();
    private readonly DateTimeOffset _epoch;
    private long _now;
    private long _order;

    public VirtualTimeScheduler(DateTimeOffset epoch) => _epoch = epoch;

    public TimeSpan Elapsed => TimeSpan.FromTicks(Volatile.Read(ref _now));

    TimeProvider IVirtualClock.Provider => this;

    public long EventsRun { get; private set; }

    public override DateTimeOffset GetUtcNow() => _epoch + Elapsed;

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new VirtualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Runs every timer due up to <paramref name="until"/> (elapsed virtual time), then sets the clock there.</summary>
    public void RunUntil(TimeSpan until)
    {
        while (true)
        {
            Entry entry;
            lock (_lock)
            {
                if (!_queue.TryPeek(out entry, out (long Due, long Order) key) || key.Due > until.Ticks)
                {
                    _now = Math.Max(_now, until.Ticks);
                    return;
                }

                _queue.Dequeue();
                _now = Math.Max(_now, key.Due);
            }

            if (entry.Timer.Fire(entry.Generation))
            {
                EventsRun++;
            }
        }
    }

    /// <summary>Runs every timer due within <paramref name="duration"/>, then sets the clock there.</summary>
    public void Advance(TimeSpan duration) => RunUntil(Elapsed + duration);

    private void Schedule(VirtualTimer timer, long generation, TimeSpan due)
    {
        lock (_lock)
        {
            _queue.Enqueue(new Entry(timer, generation), (_now + Math.Max(due.Ticks, 1), _order++));
        }
    }

    private readonly record struct Entry(VirtualTimer Timer, long Generation);

    private sealed class VirtualTimer(VirtualTimeScheduler scheduler, TimerCallback callback, object? state) : ITimer
    {
        private long _generation; // a Change or Dispose makes queued entries of older generations stale
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            long generation = Interlocked.Increment(ref _generation);
            _period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                scheduler.Schedule(this, generation, dueTime);
            }

            return true;
        }

        public bool Fire(long generation)
        {
            if (_disposed || generation != Interlocked.Read(ref _generation))
            {
                return false;
            }

            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                scheduler.Schedule(this, generation, _period);
            }

            callback(state);
            return true;
        }

        public void Dispose()
        {
            _disposed = true;
            Interlocked.Increment(ref _generation);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
