using System.Collections.Concurrent;
using RocksDbSharp;
using StemeDb.Cluster.Time;

namespace StemeDb.Storage;

/// <summary>
/// One writer per store: whatever writes are waiting (assertions, retractions, replicated batches,
/// imports) are applied into one RocksDB write batch, committed with one write and, with
/// <see cref="StorageOptions.SyncWrites"/>, one fsync, and then every caller is completed — never before
/// its data is durable. Batches form by themselves while the previous one syncs (RocksDB's own group
/// commit needs concurrent writers, which a lock around each write prevents; and the existence checks
/// that keep shard sizes exact need one writer). A group holds at most <see cref="MaxRecords"/> records;
/// an operation that must stand alone (a range delete) is committed in a group of its own.
/// </summary>
internal sealed class GroupCommit : IDisposable
{
    public const int MaxRecords = 1000;

    private readonly BlockingCollection<Operation> _queue = new(new ConcurrentQueue<Operation>(), boundedCapacity: 100_000);
    private readonly Action<Group> _commit;
    private readonly Thread _writer;

    /// <param name="commit">Writes a group's batch (its size keys included) and makes it visible; throws on failure.</param>
    public GroupCommit(Action<Group> commit, string name)
    {
        _commit = commit;
        _writer = new Thread(Run) { IsBackground = true, Name = name };
        _writer.Start();
    }

    /// <summary>Runs <paramref name="apply"/> on the writer, in the next group; completes once the group is durable.</summary>
    public Task<T> EnqueueAsync<T>(Func<Group, T> apply, int records, bool alone = false)
    {
        var operation = new Operation<T>(apply, Math.Max(1, records), alone);
        try
        {
            _queue.Add(operation);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(GroupCommit), "The store is closed.");
        }

        return operation.Task;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _writer.Join();
        _queue.Dispose();
    }

    private void Run()
    {
        var taken = new List<Operation>();
        Operation? carried = null;
        while (true)
        {
            Operation? first = carried;
            carried = null;
            if (first is null && !_queue.TryTake(out first, Timeout.Infinite))
            {
                return; // completed and drained
            }

            taken.Clear();
            taken.Add(first);
            int records = first.Records;
            // Whatever else is already waiting joins this group (no delay is added to make groups bigger).
            while (!first.Alone && records < MaxRecords && _queue.TryTake(out Operation? next))
            {
                if (next.Alone)
                {
                    carried = next; // its own group, right after this one
                    break;
                }

                taken.Add(next);
                records += next.Records;
            }

            Commit(taken);
        }
    }

    private void Commit(List<Operation> operations)
    {
        using var group = new Group();
        var applied = new List<Operation>(operations.Count);
        foreach (Operation operation in operations)
        {
            try
            {
                operation.Apply(group);
                applied.Add(operation);
            }
            catch (Exception e)
            {
                operation.Fail(e); // its own input was refused; the others go on
            }
        }

        try
        {
            _commit(group);
        }
        catch (Exception e)
        {
            foreach (Operation operation in applied)
            {
                operation.Fail(e);
            }

            return;
        }

        foreach (Operation operation in applied)
        {
            operation.Complete();
        }
    }

    /// <summary>What one group writes: the RocksDB batch, what it puts (for existence checks within it), the bytes it adds per shard, what to do once it is durable.</summary>
    internal sealed class Group : IDisposable
    {
        public WriteBatch Batch { get; } = new();

        /// <summary>Keys put in this group (base64) with the time put, so a second copy in the same group is seen.</summary>
        public Dictionary<string, HlcTimestamp> Pending { get; } = new(StringComparer.Ordinal);

        public Dictionary<int, long> Grown { get; } = [];

        public List<Action> AfterCommit { get; } = [];

        public void Dispose() => Batch.Dispose();
    }

    private abstract class Operation(int records, bool alone)
    {
        public int Records { get; } = records;

        public bool Alone { get; } = alone;

        public abstract void Apply(Group group);

        public abstract void Complete();

        public abstract void Fail(Exception e);
    }

    private sealed class Operation<T>(Func<Group, T> apply, int records, bool alone) : Operation(records, alone)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _done.Task;

        public override void Apply(Group group) => _result = apply(group);

        public override void Complete() => _done.TrySetResult(_result!);

        public override void Fail(Exception e) => _done.TrySetException(e);
    }
}
