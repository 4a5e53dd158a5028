namespace StemeDb.Client;

/// <summary>The last <c>capacity</c> keys seen, to drop an event delivered again (a stream resumed elsewhere replays its current view); bounded so a long watch does not grow.</summary>
internal sealed class RecentKeys(int capacity)
{
    private readonly HashSet<string> _set = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>True the first time <paramref name="key"/> is seen (while it is among the last <c>capacity</c>).</summary>
    public bool Add(string key)
    {
        if (!_set.Add(key))
        {
            return false;
        }

        _order.Enqueue(key);
        if (_order.Count > capacity)
        {
            _set.Remove(_order.Dequeue());
        }

        return true;
    }
}
