using System.Diagnostics;


namespace StemeDb.Storage.Tests;

/// <summary>What is acknowledged survives kill -9 of the writing process, with either sync setting.</summary>
public sealed class KillTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "stemedb-kill-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 16)]
    [InlineData(true, 16)]
    public void Every_write_acknowledged_before_a_SIGKILL_is_there_after_reopening(bool sync, int writers)
    {
        string writer = Path.Combine(AppContext.BaseDirectory, "StemeDb.Storage.CrashWriter.dll");
        var start = new ProcessStartInfo("dotnet", [writer, _dir, sync.ToString(), "100000", writers.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var acknowledged = new List<(string Subject, string Id)>();
        using (Process process = Process.Start(start)!)
        {
            var stopwatch = Stopwatch.StartNew();
            while (acknowledged.Count < 300 && stopwatch.Elapsed < TimeSpan.FromSeconds(60))
            {
                string? line = process.StandardOutput.ReadLine();
                if (line is null)
                {
                    break;
                }

                string[] parts = line.Split(' ');
                acknowledged.Add((parts[1], parts[2]));
            }

            process.Kill(); // SIGKILL on Linux: no flush, no dispose, no goodbye
            process.WaitForExit();
            Assert.True(acknowledged.Count >= 300, $"the writer acknowledged only {acknowledged.Count} writes: {process.StandardError.ReadToEnd()}");
        }

        using RocksDbAssertionStore store = RocksDbAssertionStore.Open(new StorageOptions { DataDirectory = _dir }, 64);
        foreach ((string subject, string id) in acknowledged)
        {
            Assert.Contains(store.Read(subject), s => s.Assertion.Id.ToString() == id);
        }

        // The bytes per shard, kept in the same batches as the data, still match the data exactly.
        for (int shard = 0; shard < store.ShardCount; shard++)
        {
            Assert.Equal(store.Export(shard, shard + 1).Sum(r => (long)r.Key.Length + r.Value.Length), store.ShardSize(shard));
        }
    }
}
