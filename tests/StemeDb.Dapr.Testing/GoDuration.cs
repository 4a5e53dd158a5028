using System.Globalization;
using System.Text.RegularExpressions;

namespace StemeDb.Dapr.Testing;

/// <summary>Durations as Dapr's YAML writes them (Go <c>time.ParseDuration</c>: <c>40s</c>, <c>200ms</c>, <c>1m30s</c>).</summary>
public static partial class GoDuration
{
    /// <summary>
    /// Parses a Go duration; a bare number is milliseconds, as the Redis component reads
    /// <c>processingTimeout</c> and <c>redeliverInterval</c>.
    /// </summary>
    // daprd: contrib common/component/redis/redis.go ParseClientFromProperties (bare numbers = ms)
    public static TimeSpan Parse(string text)
    {
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double bare))
        {
            return TimeSpan.FromMilliseconds(bare);
        }

        MatchCollection parts = Part().Matches(text);
        if (parts.Count == 0 || string.Concat(parts.Select(p => p.Value)) != text)
        {
            throw new FormatException($"'{text}' is not a Go duration.");
        }

        double ticks = 0;
        foreach (Match part in parts)
        {
            double value = double.Parse(part.Groups["n"].Value, CultureInfo.InvariantCulture);
            ticks += value * part.Groups["unit"].Value switch
            {
                "ns" => 0.01,
                "us" or "µs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                _ => TimeSpan.TicksPerHour,
            };
        }

        return TimeSpan.FromTicks((long)ticks);
    }

    [GeneratedRegex(@"(?<n>\d+(\.\d+)?)(?<unit>ns|us|µs|ms|s|m|h)")]
    private static partial Regex Part();
}
