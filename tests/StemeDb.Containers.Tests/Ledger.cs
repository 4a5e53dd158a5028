using System.Collections.Concurrent;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Every write acknowledged so far, the preload and every scenario's, with what is known of its
/// retraction; each scenario reads all of it back. A write found lost (or a retraction found undone) is
/// reported by the scenario that found it and not again by the later ones, so that each row counts what
/// went wrong during its own scenario.
/// </summary>
public sealed class Ledger
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new();
    private readonly ConcurrentDictionary<string, string> _reported = new();

    public sealed record Entry(string Id, RetractionState Retraction);

    /// <param name="Missing">Subjects whose acknowledged write the read-back did not return.</param>
    /// <param name="Unreadable">Subjects the read-back could not read at all.</param>
    /// <param name="Undone">Subjects whose acknowledged retraction the read-back showed current again.</param>
    public sealed record Findings(List<string> Missing, List<string> Unreadable, List<string> Undone)
    {
        public int Count => Missing.Count + Unreadable.Count + Undone.Count;
    }

    public int Count => _entries.Count;

    public ICollection<string> Subjects => _entries.Keys;

    public void AddWrite(string subject, string id) => _entries[subject] = new Entry(id, RetractionState.None);

    /// <summary>Adds a workload's acknowledged writes and what its retractions tell.</summary>
    public void Record(IEnumerable<Operation> history)
    {
        List<Operation> operations = [.. history];
        foreach (Operation write in operations.Where(o => o.Kind == OperationKind.Write && o.Outcome == OperationOutcome.Ok && o.Id is not null))
        {
            AddWrite(write.Subject, write.Id!);
        }

        foreach (Operation retraction in operations.Where(o => o.Kind == OperationKind.Retract && o.Outcome != OperationOutcome.Failed))
        {
            // Called once per scenario, after its workload stopped: nothing else changes the entries meanwhile.
            if (_entries.TryGetValue(retraction.Subject, out Entry? entry) && entry.Id == retraction.Id && entry.Retraction != RetractionState.Retracted)
            {
                _entries[retraction.Subject] = entry with { Retraction = retraction.Outcome == OperationOutcome.Ok ? RetractionState.Retracted : RetractionState.Maybe };
            }
        }
    }

    /// <summary>Checks the read-back of every entry not in <paramref name="exclude"/> and not reported before.</summary>
    public Findings Check(IReadOnlyDictionary<string, IReadOnlyList<SeenAssertion>?> readBack, IReadOnlySet<string> exclude)
    {
        var findings = new Findings([], [], []);
        foreach ((string subject, Entry entry) in _entries)
        {
            if (exclude.Contains(subject) || _reported.ContainsKey(subject))
            {
                continue;
            }

            if (!readBack.TryGetValue(subject, out IReadOnlyList<SeenAssertion>? seen) || seen is null)
            {
                findings.Unreadable.Add(subject);
            }
            else if (seen.FirstOrDefault(a => a.Id == entry.Id) is not { } found)
            {
                findings.Missing.Add(subject);
            }
            else if (entry.Retraction == RetractionState.Retracted && !found.Retracted)
            {
                findings.Undone.Add(subject);
            }
        }

        return findings;
    }

    /// <summary>Marks subjects as reported by <paramref name="scenario"/>: later checks skip them.</summary>
    public void MarkReported(IEnumerable<string> subjects, string scenario)
    {
        foreach (string subject in subjects)
        {
            _reported.TryAdd(subject, scenario);
        }
    }
}
