namespace StemeDb.Cluster.Membership;

/// <summary>
/// Infection-style dissemination (memberlist's TransmitLimitedQueue): each broadcast rides on outgoing
/// datagrams until it has been sent RetransmitMult · ceil(log10(N + 1)) times; the least-sent go first,
/// and a newer broadcast about a member replaces any older one about it. Not thread-safe: used under
/// <see cref="SwimMembership"/>'s lock.
/// </summary>
internal sealed class BroadcastQueue(int retransmitMult)
{
    private readonly List<Entry> _entries = [];
    private long _order;

    public int Count => _entries.Count;

    public static int RetransmitLimit(int retransmitMult, int members) =>
        retransmitMult * (int)Math.Ceiling(Math.Log10(members + 1));

    /// <summary>Queues <paramref name="framed"/> about <paramref name="node"/>, dropping what was queued about it before.</summary>
    public void Enqueue(NodeId node, byte[] framed)
    {
        _entries.RemoveAll(e => e.Node == node);
        _entries.Add(new Entry(node, framed, 0, _order++));
    }

    /// <summary>
    /// Takes broadcasts that fit in <paramref name="budget"/> bytes, least-sent (then newest) first, and counts
    /// one transmission for each; those that reach the limit for <paramref name="members"/> are dropped.
    /// </summary>
    public List<byte[]> Take(int budget, int members)
    {
        var taken = new List<byte[]>();
        if (_entries.Count == 0)
        {
            return taken;
        }

        int limit = RetransmitLimit(retransmitMult, members);
        _entries.Sort(static (a, b) => a.Transmits != b.Transmits ? a.Transmits.CompareTo(b.Transmits) : b.Order.CompareTo(a.Order));
        for (int i = 0; i < _entries.Count && budget > 0; i++)
        {
            Entry e = _entries[i];
            if (e.Framed.Length > budget)
            {
                continue;
            }

            budget -= e.Framed.Length;
            taken.Add(e.Framed);
            _entries[i] = e with { Transmits = e.Transmits + 1 };
        }

        _entries.RemoveAll(e => e.Transmits >= limit);
        return taken;
    }

    public void Clear() => _entries.Clear();

    private readonly record struct Entry(NodeId Node, byte[] Framed, int Transmits, long Order);
}
