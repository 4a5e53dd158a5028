using System.Collections.Concurrent;

namespace StemeDb.Hosting;

/// <summary>
/// Calls bound for the same destination (a peer, a node) share exchanges: while <c>maxInFlight</c> calls to a
/// destination are out, the items that arrive wait, and then go together in one call of up to
/// <c>maxCount</c> (items, or what the caller counts in them, such as records) and about <c>maxBytes</c>. No delay is added to make calls bigger: an item waits
/// only while the destination is busy, so a quiet destination gets each item at once and a busy one gets
/// fewer, bigger calls (what etcd's Raft does with its messages, and RocksDB with its writers).
/// <c>send</c> gets one or more items and answers each (by its index, as its answer comes); an item it left
/// unanswered fails with the exception it threw, or as unanswered. An item whose caller gave up before the
/// call was made is not sent.
/// </summary>
public sealed class Coalescer<TKey, TItem, TResult>
    where TKey : notnull
{
    private readonly int _maxInFlight;
    private readonly int _maxCount;
    private readonly long _maxBytes;
    private readonly Func<TKey, IReadOnlyList<TItem>, Action<int, TResult>, CancellationToken, Task> _send;
    private readonly Action<TResult>? _abandoned;
    private readonly ConcurrentDictionary<TKey, Destination> _destinations = new();
    private long _calls;
    private long _combined;

    /// <param name="send">Makes one call of one or more items and answers each by its index; its token is cancelled once every caller of the call gave up.</param>
    /// <param name="abandoned">Gets an answer that came after its caller gave up (to dispose of it: no one else will).</param>
    public Coalescer(int maxInFlight, int maxCount, long maxBytes, Func<TKey, IReadOnlyList<TItem>, Action<int, TResult>, CancellationToken, Task> send, Action<TResult>? abandoned = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentNullException.ThrowIfNull(send);
        _maxInFlight = maxInFlight;
        _maxCount = maxCount;
        _maxBytes = maxBytes;
        _send = send;
        _abandoned = abandoned;
    }

    /// <summary>Calls made.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Calls that carried more than one item.</summary>
    public long Combined => Interlocked.Read(ref _combined);

    /// <summary>Sends <paramref name="item"/> (counting <paramref name="count"/>, of about <paramref name="bytes"/>) to <paramref name="key"/>, alone or with others.</summary>
    public Task<TResult> SendAsync(TKey key, TItem item, int count, long bytes, CancellationToken cancellationToken)
    {
        var waiting = new Waiting(item, Math.Max(1, count), Math.Max(1, bytes), cancellationToken);
        Destination destination = _destinations.GetOrAdd(key, static _ => new Destination());
        destination.Queue.Enqueue(waiting);
        Drain(key, destination);
        return !cancellationToken.CanBeCanceled ? waiting.Done.Task
            : _abandoned is { } abandoned ? WaitOrAbandonAsync(waiting.Done.Task, abandoned, cancellationToken)
            : waiting.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The answer, or, when its caller gives up first, the answer handed to <paramref name="abandoned"/> once it comes.</summary>
    private static async Task<TResult> WaitOrAbandonAsync(Task<TResult> answer, Action<TResult> abandoned, CancellationToken cancellationToken)
    {
        try
        {
            return await answer.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _ = answer.ContinueWith(a => abandoned(a.Result), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    // Whoever enqueues and whoever finishes a call both drain, so an item is never left behind: either the
    // finisher sees it queued, or the enqueuer sees the slot the finisher gave back.
    private void Drain(TKey key, Destination destination)
    {
        while (!destination.Queue.IsEmpty && destination.TryTakeSlot(_maxInFlight))
        {
            List<Waiting> call;
            lock (destination) // one taker at a time: two finishers would split what waited between them
            {
                call = Take(destination.Queue);
            }

            if (call.Count == 0)
            {
                destination.ReleaseSlot();
                continue;
            }

            _ = CallAsync(key, destination, call);
        }
    }

    private List<Waiting> Take(ConcurrentQueue<Waiting> queue)
    {
        var call = new List<Waiting>();
        int count = 0;
        long bytes = 0;
        while (queue.TryPeek(out Waiting? next) && (call.Count == 0 || (count + next.Count <= _maxCount && bytes + next.Bytes <= _maxBytes)) && queue.TryDequeue(out next))
        {
            if (next.Cancellation.IsCancellationRequested)
            {
                next.Done.TrySetCanceled(next.Cancellation); // its caller gave up while it waited: not sent
                continue;
            }

            call.Add(next);
            count += next.Count;
            bytes += next.Bytes;
        }

        return call;
    }

    private async Task CallAsync(TKey key, Destination destination, List<Waiting> call)
    {
        Interlocked.Increment(ref _calls);
        if (call.Count > 1)
        {
            Interlocked.Increment(ref _combined);
        }

        using var everyoneGaveUp = new CancellationTokenSource();
        int left = call.Count;
        var registrations = new List<CancellationTokenRegistration>(call.Count);
        foreach (Waiting waiting in call)
        {
            registrations.Add(waiting.Cancellation.Register(() =>
            {
                if (Interlocked.Decrement(ref left) == 0)
                {
                    everyoneGaveUp.Cancel();
                }
            }));
        }

        try
        {
            await _send(key, [.. call.Select(w => w.Item)], (i, result) => call[i].Done.TrySetResult(result), everyoneGaveUp.Token).ConfigureAwait(false);
            var unanswered = new InvalidOperationException($"A call of {call.Count} items left some unanswered.");
            call.ForEach(w => w.Done.TrySetException(unanswered));
        }
        catch (Exception e)
        {
            call.ForEach(w => w.Done.TrySetException(e));
        }
        finally
        {
            registrations.ForEach(r => r.Dispose());
            destination.ReleaseSlot();
            Drain(key, destination);
        }
    }

    private sealed class Waiting(TItem item, int count, long bytes, CancellationToken cancellation)
    {
        public TItem Item { get; } = item;

        public int Count { get; } = count;

        public long Bytes { get; } = bytes;

        public CancellationToken Cancellation { get; } = cancellation;

        public TaskCompletionSource<TResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Destination
    {
        private int _inFlight;

        public ConcurrentQueue<Waiting> Queue { get; } = new();

        public bool TryTakeSlot(int max)
        {
            int current = Volatile.Read(ref _inFlight);
            while (current < max)
            {
                int seen = Interlocked.CompareExchange(ref _inFlight, current + 1, current);
                if (seen == current)
                {
                    return true;
                }

                current = seen;
            }

            return false;
        }

        public void ReleaseSlot() => Interlocked.Decrement(ref _inFlight);
    }
}
