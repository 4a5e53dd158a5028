namespace StemeDb.Gateway.Tests;

/// <summary>
/// The tests that start node apps on loopback with real time, with gateways in front: one at a time and
/// alone, since a CPU shared with other tests makes SWIM see ghosts and timeouts fire.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopbackClusters
{
    public const string Name = "loopback node clusters";
}
