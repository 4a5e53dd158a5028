using System.Text.Json;
using BenchmarkDotNet.Attributes;
using StemeDb.Cluster.Time;
using StemeDb.Contracts;
using StemeDb.Storage;

namespace StemeDb.Benchmarks;

/// <summary>
/// The storage write path: new assertions (distinct subjects, so each is a real insert) written to
/// RocksDB one at a time and in batches of 100, with and without fsync of the write-ahead log.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class StorageWriteBenchmarks
{
    private readonly JsonElement _object = JsonDocument.Parse("{\"name\":\"Ada Lovelace\",\"born\":1815}").RootElement.Clone();
    private RocksDbAssertionStore _store = null!;
    private string _directory = null!;
    private long _next;

    [Params(false, true)]
    public bool SyncWrites { get; set; }

    [Params(1, 100)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "stemedb-bench-" + Guid.NewGuid().ToString("N"));
        _store = RocksDbAssertionStore.Open(new StorageOptions { DataDirectory = _directory, SyncWrites = SyncWrites }, 4096);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "write new assertions")]
    public int Write()
    {
        var batch = new Assertion[Batch];
        for (int i = 0; i < batch.Length; i++)
        {
            long n = _next++;
            batch[i] = new Assertion($"user:{n}", "profile", _object, "bench", 0.9, new HlcTimestamp(1_800_000_000_000 + n, 0));
        }

        return _store.Write(batch);
    }
}
