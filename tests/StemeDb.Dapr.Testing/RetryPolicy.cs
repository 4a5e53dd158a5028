using System.Globalization;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A Dapr retry policy: <c>constant</c> (every <c>duration</c>) or <c>exponential</c> (from 500 ms, ×1.5,
/// ±50 %, capped at <c>maxInterval</c>), at most <c>maxRetries</c> retries (-1: no limit), and optionally only
/// for the HTTP statuses <c>matching.httpStatusCodes</c> lists.
/// </summary>
public sealed record RetryPolicy(bool Exponential, TimeSpan Duration, TimeSpan MaxInterval, int MaxRetries, IReadOnlyList<(int From, int To)> HttpStatusCodes)
{
    private static readonly TimeSpan InitialInterval = TimeSpan.FromMilliseconds(500);

    public static RetryPolicy Constant(TimeSpan duration, int maxRetries, string? httpStatusCodes = null) =>
        new(false, duration, TimeSpan.FromSeconds(60), maxRetries, ParseStatusCodes(httpStatusCodes));

    /// <summary>
    /// Whether an attempt that failed is tried again: not past <c>maxRetries</c>; a failure without a status
    /// (timeout, connection) always; a status when <c>matching</c> is empty or lists it. A status not listed
    /// ends the retries but still counts as a failure for the breaker.
    /// </summary>
    // daprd: pkg/resiliency/retry.go statusCodeNeedRetry; dapr@v1.15.0:pkg/apis/resiliency/v1alpha1/types.go RetryMatching
    public bool ShouldRetry(int retriesSoFar, int? status)
    {
        if (MaxRetries >= 0 && retriesSoFar >= MaxRetries)
        {
            return false;
        }

        return status is not { } code || HttpStatusCodes.Count == 0 || HttpStatusCodes.Any(r => code >= r.From && code <= r.To);
    }

    /// <summary>
    /// The wait before retry number <paramref name="retry"/> (0 for the first retry). The exponential
    /// constants are the backoff library's defaults as Dapr documents them; the reference does not pin them.
    /// </summary>
    public TimeSpan Delay(int retry)
    {
        if (!Exponential)
        {
            return Duration;
        }

        double interval = Math.Min(InitialInterval.TotalMilliseconds * Math.Pow(1.5, retry), MaxInterval.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(interval * (0.5 + Random.Shared.NextDouble()));
    }

    /// <summary><c>"500,502-504"</c> as ranges.</summary>
    public static IReadOnlyList<(int From, int To)> ParseStatusCodes(string? codes)
    {
        var ranges = new List<(int, int)>();
        foreach (string part in (codes ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] ends = part.Split('-', StringSplitOptions.TrimEntries);
            int from = int.Parse(ends[0], CultureInfo.InvariantCulture);
            ranges.Add((from, ends.Length > 1 ? int.Parse(ends[1], CultureInfo.InvariantCulture) : from));
        }

        return ranges;
    }
}
