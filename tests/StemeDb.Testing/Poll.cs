using System.Diagnostics;
using System.Globalization;

namespace StemeDb.Testing;

/// <summary>
/// Bounded waiting for something that happens in real time (SWIM detection, replication, a process
/// starting): the condition is checked at once, then after every step, until it holds or the limit has
/// passed. The condition is always checked at least once, and once more after the limit is reached.
/// </summary>
public static class Poll
{
    /// <summary>The step when a wait names none.</summary>
    public static readonly TimeSpan DefaultStep = TimeSpan.FromMilliseconds(100);

    /// <inheritdoc cref="UntilAsync(Func{Task{bool}}, TimeSpan, string, TimeSpan?, Func{Task{string}}?, Func{Exception, bool}?, CancellationToken)"/>
    public static Task UntilAsync(Func<bool> condition, TimeSpan limit, string what, TimeSpan? step = null, Func<Task<string>>? diagnostics = null, Func<Exception, bool>? retryOn = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), limit, what, step, diagnostics, retryOn, cancellationToken);
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds; after <paramref name="limit"/> throws a
    /// <see cref="TimeoutException"/> saying what was awaited (<paramref name="what"/>, phrased as the
    /// condition: "three nodes see each other"), followed by the text of <paramref name="diagnostics"/>.
    /// </summary>
    /// <param name="step">Pause between checks; <see cref="DefaultStep"/> unless given.</param>
    /// <param name="diagnostics">What was seen, for the failure (logs, tables); called only on a timeout.</param>
    /// <param name="retryOn">
    /// Exceptions of the condition that count as "not yet" (an app still starting refuses connections);
    /// any other exception ends the wait at once. Without it, every exception does.
    /// </param>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what, TimeSpan? step = null, Func<Task<string>>? diagnostics = null, Func<Exception, bool>? retryOn = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(what);
        TimeSpan pause = step ?? DefaultStep;
        (bool held, Exception? lastRetried) = await RunAsync(condition, limit, pause, retryOn, cancellationToken).ConfigureAwait(false);
        if (held)
        {
            return;
        }

        string message = $"Not within {Seconds(limit)} (checked every {Seconds(pause)}): {what}.";
        if (lastRetried is not null)
        {
            message += $"\nThe last check failed with {lastRetried.GetType().Name}: {lastRetried.Message}";
        }

        if (diagnostics is not null)
        {
            try
            {
                message += "\n" + await diagnostics().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The failure must still say what was awaited, even when the diagnostics cannot be had.
                message += $"\n(no diagnostics: {e.GetType().Name}: {e.Message})";
            }
        }

        throw new TimeoutException(message);
    }

    /// <summary>
    /// Whether <paramref name="condition"/> held within <paramref name="limit"/>, checked as
    /// <see cref="UntilAsync(Func{Task{bool}}, TimeSpan, string, TimeSpan?, Func{Task{string}}?, Func{Exception, bool}?, CancellationToken)"/>
    /// does; for waits whose outcome is a measurement, not a failure (does a cut get detected at all).
    /// </summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> condition, TimeSpan limit, TimeSpan? step = null, Func<Exception, bool>? retryOn = null, CancellationToken cancellationToken = default) =>
        (await RunAsync(condition, limit, step ?? DefaultStep, retryOn, cancellationToken).ConfigureAwait(false)).Held;

    private static async Task<(bool Held, Exception? LastRetried)> RunAsync(Func<Task<bool>> condition, TimeSpan limit, TimeSpan step, Func<Exception, bool>? retryOn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, TimeSpan.Zero);
        var clock = Stopwatch.StartNew();
        Exception? lastRetried = null;
        while (true)
        {
            try
            {
                if (await condition().ConfigureAwait(false))
                {
                    return (true, null);
                }

                lastRetried = null;
            }
            catch (Exception e) when (retryOn is not null && retryOn(e))
            {
                lastRetried = e;
            }

            if (clock.Elapsed >= limit)
            {
                return (false, lastRetried);
            }

            await Task.Delay(step, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
