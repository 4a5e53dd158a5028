using System.Globalization;

namespace StemeDb.Containers.Tests;

/// <summary>One line of the reliability table: what the client saw and how long the cluster took.</summary>
public sealed record ScenarioRow(string Scenario, int Acknowledged, int Found, int Attempted, int Failed, int NotSent, TimeSpan LongestUnavailable, TimeSpan? Detected, TimeSpan? Recovered)
{
    public const string Header = "| scenario | acknowledged | found after | failed writes | not sent | longest unavailability | fault reported after | recovered after |";
    public const string Rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"| {Scenario} | {Acknowledged} | {Found} | {(Attempted == 0 ? 0 : 100.0 * Failed / Attempted):F1} % ({Failed}/{Attempted}) | {NotSent} | {LongestUnavailable.TotalSeconds:F1} s | {Seconds(Detected)} | {Seconds(Recovered)} |");

    private static string Seconds(TimeSpan? t) => t is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalSeconds:F1} s") : "—";
}
