using System.Diagnostics;

namespace StemeDb.EndToEnd.Tests;

/// <summary>Polls a condition against the running apps until it holds or the time is up; then fails with what was seen.</summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan step, string what, Func<Task<string>> explain)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // An app that is starting or just lost a peer: ask again.
            }

            await Task.Delay(step);
        }

        Assert.Fail($"Not within {timeout.TotalSeconds:0} s: {what}.\n{await explain()}");
    }
}
