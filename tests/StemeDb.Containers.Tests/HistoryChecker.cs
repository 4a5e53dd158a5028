namespace StemeDb.Containers.Tests;

/// <summary>
/// Checks a workload's history against the guarantees a client is given (README, "Guarantees"): an acknowledged
/// write is never lost and every read that begins after its acknowledgement sees it; an acknowledged
/// retraction is never undone. Only acknowledged operations bind: a refused one did not happen, an
/// indeterminate one may have, so neither its presence nor its absence is a violation. A read that misses
/// an acknowledged write is not stale when a retraction of it (acknowledged or indeterminate) had begun
/// before the read ended, since reads return current assertions only.
/// </summary>
public static class HistoryChecker
{
    /// <param name="duration">The length of the workload on the history's clock (unavailability runs from 0 to it).</param>
    /// <param name="final">The final read-back with history=true, per subject; null where the subject could not be read.</param>
    public static HistoryReport Check(IReadOnlyList<Operation> history, TimeSpan duration, IReadOnlyDictionary<string, IReadOnlyList<SeenAssertion>?> final)
    {
        List<Operation> writes = [.. history.Where(o => o.Kind == OperationKind.Write && o.Outcome == OperationOutcome.Ok && o.Id is not null)];
        List<Operation> reads = [.. history.Where(o => o.Kind == OperationKind.Read && o.Outcome == OperationOutcome.Ok && o.Seen is not null)];
        List<Operation> retractions = [.. history.Where(o => o.Kind == OperationKind.Retract)];
        List<Operation> acknowledgedRetractions = [.. retractions.Where(o => o.Outcome == OperationOutcome.Ok && o.Id is not null)];
        ILookup<string, Operation> writesOf = writes.ToLookup(w => w.Subject);
        ILookup<(string, string?), Operation> retractionsOf = retractions.Where(r => r.Outcome != OperationOutcome.Failed).ToLookup(r => (r.Subject, r.Id));

        var lost = new List<Operation>();
        var unreadable = new List<Operation>();
        foreach (Operation write in writes)
        {
            if (!final.TryGetValue(write.Subject, out IReadOnlyList<SeenAssertion>? seen) || seen is null)
            {
                unreadable.Add(write);
            }
            else if (!seen.Any(a => a.Id == write.Id))
            {
                lost.Add(write);
            }
        }

        var stale = new List<StaleRead>();
        var undone = new List<UndoneRetraction>();
        foreach (Operation read in reads)
        {
            HashSet<string> current = [.. read.Seen!.Where(a => !a.Retracted).Select(a => a.Id)];
            foreach (Operation write in writesOf[read.Subject].Where(w => w.End < read.Start && !current.Contains(w.Id!)))
            {
                // Gone because a retraction of it may have taken effect before the read ended: allowed.
                if (!retractionsOf[(write.Subject, write.Id)].Any(r => r.Start < read.End))
                {
                    stale.Add(new StaleRead(read, write));
                }
            }

            foreach (Operation retraction in acknowledgedRetractions.Where(r => r.Subject == read.Subject && r.End < read.Start && current.Contains(r.Id!)))
            {
                undone.Add(new UndoneRetraction(retraction, read));
            }
        }

        foreach (Operation retraction in acknowledgedRetractions)
        {
            if (final.TryGetValue(retraction.Subject, out IReadOnlyList<SeenAssertion>? seen) && seen is not null && seen.Any(a => a.Id == retraction.Id && !a.Retracted))
            {
                undone.Add(new UndoneRetraction(retraction, null));
            }
        }

        return new HistoryReport(
            history.Count(o => o.Kind == OperationKind.Write),
            history.Count(o => o.Kind == OperationKind.Read),
            retractions.Count,
            writes.Count,
            acknowledgedRetractions.Count,
            history.Count(o => o.Outcome == OperationOutcome.Failed),
            history.Count(o => o.Outcome == OperationOutcome.Indeterminate),
            lost,
            unreadable,
            stale,
            undone,
            history.Select(o => o.Gateway).Distinct().Order(StringComparer.Ordinal).ToDictionary(g => g, g => LongestGap(history, g, duration)),
            history.Where(o => o.Outcome != OperationOutcome.Ok)
                .GroupBy(o => $"{o.Kind.ToString().ToLowerInvariant()} {(o.Status is { } status ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "no answer")}")
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count()));
    }

    /// <summary>The longest time through <paramref name="gateway"/> without a success ending, the start and end of the workload included.</summary>
    private static TimeSpan LongestGap(IReadOnlyList<Operation> history, string gateway, TimeSpan duration)
    {
        TimeSpan[] points = [TimeSpan.Zero, .. history.Where(o => o.Gateway == gateway && o.Outcome == OperationOutcome.Ok).Select(o => o.End).Order(), duration];
        return points.Zip(points.Skip(1), (a, b) => b - a).Max();
    }
}
