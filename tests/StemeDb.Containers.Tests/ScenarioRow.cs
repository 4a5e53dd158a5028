using System.Globalization;

namespace StemeDb.Containers.Tests;

/// <summary>One line of the reliability table: what the clients saw, what the checker found, and how long the cluster took.</summary>
/// <param name="EarlierMissing">Writes acknowledged before this scenario (the preload, earlier scenarios) that its read-back did not find as acknowledged.</param>
public sealed record ScenarioRow(string Scenario, HistoryReport Report, int NotSent, int EarlierMissing, TimeSpan? Detected, TimeSpan? Recovered)
{
    public const string Header = "| scenario | operations (w/r/x) | acknowledged writes | lost | stale reads | undone retractions | earlier writes missing | failed operations | not sent | longest unavailability (A / B) | fault reported after | recovered after |";
    public const string Rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

    public override string ToString()
    {
        HistoryReport r = Report;
        string unavailable = string.Join(" / ", r.LongestUnavailable.Values.Select(t => Seconds(t)));
        string lost = r.Unreadable.Count == 0 ? $"{r.LostWrites.Count}" : $"{r.LostWrites.Count} (+{r.Unreadable.Count} unreadable)";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {Scenario.Replace("|", "\\|", StringComparison.Ordinal)} | {r.Operations} ({r.Writes}/{r.Reads}/{r.Retractions}) | {r.AcknowledgedWrites} | {lost} | {r.StaleReads.Count} | {r.UndoneRetractions.Count} | {EarlierMissing} | {100.0 * r.FailedFraction:F1} % ({r.Failed} refused, {r.Indeterminate} indeterminate) | {NotSent} | {unavailable} | {Seconds(Detected)} | {Seconds(Recovered)} |");
    }

    private static string Seconds(TimeSpan? t) => t is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalSeconds:F1} s") : "—";
}
