using System.Collections.Concurrent;
using StemeDb.Cluster.Consensus;

namespace StemeDb.Node;

/// <summary>
/// The fence of each slot this node promised: once it promised a change of range R from generation g, it
/// stores no write of R at g (the promise and the fence are one durable record). A write passes the gate
/// with <see cref="TryEnter"/> before it touches the store and leaves it after; <see cref="FenceAsync"/>
/// closes the gate and waits for the writes already through, so the data a proposer reads from this node
/// after its promise holds every write this node ever acknowledged at g.
/// </summary>
public sealed class FenceGate
{
    private readonly ConcurrentDictionary<SlotId, Slot> _slots = new();

    /// <summary>Whether this node promised a change of the slot (and so serves nothing at its generation).</summary>
    public bool IsFenced(SlotId slot) => _slots.TryGetValue(slot, out Slot? s) && s.Fenced;

    /// <summary>Lets a write of the slot through (dispose the pass when it is stored), or null when the slot is fenced.</summary>
    public Pass? TryEnter(SlotId slot)
    {
        Slot s = _slots.GetOrAdd(slot, _ => new Slot());
        lock (s)
        {
            if (s.Fenced)
            {
                return null;
            }

            s.InFlight++;
            return new Pass(s);
        }
    }

    /// <summary>Fences the slot and returns once no write that passed the gate before is still running.</summary>
    public Task FenceAsync(SlotId slot)
    {
        Slot s = _slots.GetOrAdd(slot, _ => new Slot());
        lock (s)
        {
            s.Fenced = true;
            if (s.InFlight == 0)
            {
                return Task.CompletedTask;
            }

            s.Drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return s.Drained.Task;
        }
    }

    /// <summary>
    /// Forgets the write counters of slots the table has moved past. A fenced slot stays fenced for as long
    /// as its acceptor record is kept: a write that passed the table check just before the table moved on
    /// must still find the fence.
    /// </summary>
    public void Forget(Func<SlotId, bool> superseded)
    {
        foreach (SlotId slot in _slots.Keys)
        {
            if (superseded(slot) && _slots.TryGetValue(slot, out Slot? s))
            {
                lock (s)
                {
                    if (!s.Fenced && s.InFlight == 0)
                    {
                        _slots.TryRemove(slot, out _);
                    }
                }
            }
        }
    }

    /// <summary>Drops the fence of a slot whose acceptor record was removed (long after its decision).</summary>
    public void Release(SlotId slot) => _slots.TryRemove(slot, out _);

    /// <summary>A write's way through the gate; disposing it lets the fence know the write is done.</summary>
    public sealed class Pass : IDisposable
    {
        private Slot? _slot;

        internal Pass(Slot slot) => _slot = slot;

        public void Dispose()
        {
            Slot? s = Interlocked.Exchange(ref _slot, null);
            if (s is null)
            {
                return;
            }

            TaskCompletionSource? drained = null;
            lock (s)
            {
                if (--s.InFlight == 0 && s.Drained is not null)
                {
                    drained = s.Drained;
                    s.Drained = null;
                }
            }

            drained?.TrySetResult();
        }
    }

    internal sealed class Slot
    {
        public bool Fenced;
        public int InFlight;
        public TaskCompletionSource? Drained;
    }
}
