using System.Globalization;
using System.Text;

namespace StemeDb.Containers.Tests;

/// <summary>What <see cref="HistoryChecker"/> found in one workload's history and its final read-back.</summary>
/// <param name="Unreadable">Acknowledged writes whose subject the final read-back could not read at all (so neither found nor known lost).</param>
/// <param name="LongestUnavailable">Per gateway: the longest time without a successful operation through it.</param>
/// <param name="NotOk">Operations that did not succeed, counted by kind and status ("retract 404", "write no answer"): a 404 to the retraction of an acknowledged write means the node that answered did not hold it.</param>
public sealed record HistoryReport(
    int Writes,
    int Reads,
    int Retractions,
    int AcknowledgedWrites,
    int AcknowledgedRetractions,
    int Failed,
    int Indeterminate,
    IReadOnlyList<Operation> LostWrites,
    IReadOnlyList<Operation> Unreadable,
    IReadOnlyList<StaleRead> StaleReads,
    IReadOnlyList<UndoneRetraction> UndoneRetractions,
    IReadOnlyDictionary<string, TimeSpan> LongestUnavailable,
    IReadOnlyDictionary<string, int> NotOk)
{
    public int Operations => Writes + Reads + Retractions;

    /// <summary>Operations that did not succeed (refused or indeterminate), as a fraction of all.</summary>
    public double FailedFraction => Operations == 0 ? 0 : (double)(Failed + Indeterminate) / Operations;

    public bool Clean => LostWrites.Count == 0 && Unreadable.Count == 0 && StaleReads.Count == 0 && UndoneRetractions.Count == 0;

    /// <summary>The findings, at most <paramref name="max"/> of each kind, one a line, for a test's output and its failure message.</summary>
    public string Describe(int max = 10)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{AcknowledgedWrites} acknowledged writes: {LostWrites.Count} lost, {Unreadable.Count} unreadable; {StaleReads.Count} stale reads; {UndoneRetractions.Count} undone retractions (of {AcknowledgedRetractions} acknowledged)\n");
        if (NotOk.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"  not ok: {string.Join(", ", NotOk.Select(n => $"{n.Key} ×{n.Value}"))}\n");
        }

        foreach (Operation w in LostWrites.Take(max))
        {
            text.Append(CultureInfo.InvariantCulture, $"  lost: {w.Subject} {Short(w.Id)} acknowledged by gateway {w.Gateway} at {w.End.TotalSeconds:F2} s\n");
        }

        foreach (Operation w in Unreadable.Take(max))
        {
            text.Append(CultureInfo.InvariantCulture, $"  unreadable: {w.Subject} {Short(w.Id)} acknowledged by gateway {w.Gateway} at {w.End.TotalSeconds:F2} s\n");
        }

        foreach (StaleRead s in StaleReads.Take(max))
        {
            text.Append(CultureInfo.InvariantCulture, $"  stale read: {s.Read.Subject} through gateway {s.Read.Gateway} [{s.Read.Start.TotalSeconds:F2}, {s.Read.End.TotalSeconds:F2}] s without {Short(s.Write.Id)}, acknowledged by gateway {s.Write.Gateway} at {s.Write.End.TotalSeconds:F2} s\n");
        }

        foreach (UndoneRetraction u in UndoneRetractions.Take(max))
        {
            string where = u.Read is { } r
                ? string.Create(CultureInfo.InvariantCulture, $"current in a read through gateway {r.Gateway} [{r.Start.TotalSeconds:F2}, {r.End.TotalSeconds:F2}] s")
                : "current in the final read-back";
            text.Append(CultureInfo.InvariantCulture, $"  undone retraction: {u.Retraction.Subject} {Short(u.Retraction.Id)} acknowledged by gateway {u.Retraction.Gateway} at {u.Retraction.End.TotalSeconds:F2} s, {where}\n");
        }

        return text.ToString().TrimEnd();
    }

    private static string Short(string? id) => id is null ? "?" : id[..Math.Min(12, id.Length)];
}
