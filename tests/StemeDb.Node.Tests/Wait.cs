namespace StemeDb.Node.Tests;

/// <summary>Bounded waiting for something that happens in real time (SWIM detection, replication, refresh).</summary>
internal static class Wait
{
    public static Task Until(Func<bool> condition, TimeSpan limit, string what) =>
        Until(() => Task.FromResult(condition()), limit, what);

    public static async Task Until(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        DateTime deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(100);
        }
    }
}
