namespace StemeDb.Node.Tests;

/// <summary>
/// The tests that start node apps on loopback with real time (SWIM over UDP, Kestrel, RocksDB): one at a
/// time and alone, since a CPU shared with other tests makes SWIM see ghosts and timeouts fire.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopbackClusters
{
    public const string Name = "loopback node clusters";
}
