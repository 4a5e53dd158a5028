namespace StemeDb.Cluster.Membership;

/// <summary>
/// Infection-style dissemination (memberlist's TransmitLimitedQueue): each broadcast rides on outgoing
/// datagrams until it has been sent RetransmitMult · ceil(log10(N + 1)) times; the least-sent go first,
/// and a newer broadcast about a member replaces any older one about it. Kept ordered (a sorted set), so
/// filling a datagram costs O(k log n) even when a thousand joins are queued. Not thread-safe: used under
/// <see cref="SwimMembership"/>'s lock.
/// </summary>
internal sealed class BroadcastQueue(int retransmitMult)
{
    // Scanning further than this many entries that do not fit is not worth it: the datagram is full.
    private const int MaxSkipped = 32;

    private readonly SortedSet<Entry> _queue = new(EntryOrder.Instance);
    private readonly Dictionary<NodeId, Entry> _byNode = [];
    private long _order;

    public int Count => _queue.Count;

    public static int RetransmitLimit(int retransmitMult, int members) =>
        retransmitMult * (int)Math.Ceiling(Math.Log10(members + 1));

    /// <summary>Queues <paramref name="framed"/> about <paramref name="node"/>, dropping what was queued about it before.</summary>
    public void Enqueue(NodeId node, byte[] framed)
    {
        if (_byNode.Remove(node, out Entry? old))
        {
            _queue.Remove(old);
        }

        var entry = new Entry(node, framed, _order++);
        _byNode[node] = entry;
        _queue.Add(entry);
    }

    /// <summary>
    /// Takes broadcasts that fit in <paramref name="budget"/> bytes, least-sent (then newest) first, and counts
    /// one transmission for each; those that reach the limit for <paramref name="members"/> are dropped.
    /// </summary>
    public List<byte[]> Take(int budget, int members)
    {
        var taken = new List<byte[]>();
        if (_queue.Count == 0)
        {
            return taken;
        }

        var sent = new List<Entry>();
        int skipped = 0;
        foreach (Entry e in _queue)
        {
            if (e.Framed.Length > budget)
            {
                if (++skipped > MaxSkipped)
                {
                    break;
                }

                continue;
            }

            budget -= e.Framed.Length;
            taken.Add(e.Framed);
            sent.Add(e);
        }

        int limit = RetransmitLimit(retransmitMult, members);
        foreach (Entry e in sent)
        {
            _queue.Remove(e);
            e.Transmits++;
            if (e.Transmits < limit)
            {
                _queue.Add(e);
            }
            else
            {
                _byNode.Remove(e.Node);
            }
        }

        return taken;
    }

    private sealed class Entry(NodeId node, byte[] framed, long order)
    {
        public NodeId Node { get; } = node;

        public byte[] Framed { get; } = framed;

        public long Order { get; } = order;

        public int Transmits { get; set; }
    }

    // Fewest transmissions first; among equals the newest first. Order is unique, so no two entries tie.
    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(Entry? a, Entry? b) =>
            a!.Transmits != b!.Transmits ? a.Transmits.CompareTo(b.Transmits) : b.Order.CompareTo(a.Order);
    }
}
