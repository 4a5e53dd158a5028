using System.Globalization;
using System.Text.RegularExpressions;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A Dapr circuit breaker policy: it trips (opens) when <c>trip</c> holds over the closed-state counts, stays
/// open for <c>timeout</c>, then lets <c>maxRequests</c> trial calls through (half-open); <c>interval</c>
/// clears the counts of a closed breaker periodically (0: never).
/// </summary>
public sealed partial record CircuitBreakerPolicy(int MaxRequests, TimeSpan Interval, TimeSpan Timeout, string Trip)
{
    /// <summary>
    /// Evaluates the trip expression: comparisons of <c>requests</c>, <c>totalSuccesses</c>,
    /// <c>totalFailures</c>, <c>consecutiveSuccesses</c>, <c>consecutiveFailures</c> with a number, joined by
    /// <c>&amp;&amp;</c> and <c>||</c> (the subset of CEL Dapr's examples use).
    /// </summary>
    public bool Trips(BreakerCounts counts) =>
        Trip.Split("||").Any(any => any.Split("&&").All(all => Compare(all, counts)));

    /// <summary>Throws when the trip expression is outside the supported subset, so a bad file fails at load.</summary>
    public CircuitBreakerPolicy Validated()
    {
        _ = Trips(default);
        return this;
    }

    private static bool Compare(string comparison, BreakerCounts counts)
    {
        Match match = ComparisonPattern().Match(comparison);
        if (!match.Success)
        {
            throw new FormatException($"Unsupported circuit breaker trip expression '{comparison.Trim()}'.");
        }

        long left = match.Groups["var"].Value switch
        {
            "requests" => counts.Requests,
            "totalSuccesses" => counts.TotalSuccesses,
            "totalFailures" => counts.TotalFailures,
            "consecutiveSuccesses" => counts.ConsecutiveSuccesses,
            "consecutiveFailures" => counts.ConsecutiveFailures,
            string other => throw new FormatException($"Unknown circuit breaker variable '{other}'."),
        };
        long right = long.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture);
        return match.Groups["op"].Value switch
        {
            ">" => left > right,
            ">=" => left >= right,
            "<" => left < right,
            "<=" => left <= right,
            "==" => left == right,
            _ => left != right,
        };
    }

    [GeneratedRegex(@"^\s*(?<var>\w+)\s*(?<op>>=|<=|==|!=|>|<)\s*(?<n>\d+)\s*$")]
    private static partial Regex ComparisonPattern();
}

/// <summary>The counts a breaker keeps while closed (reset when it changes state or its interval ends).</summary>
public readonly record struct BreakerCounts(long Requests, long TotalSuccesses, long TotalFailures, long ConsecutiveSuccesses, long ConsecutiveFailures);
