namespace StemeDb.Cluster.Tests.Membership;

/// <summary>
/// SWIM members on real UDP sockets with real time: one test at a time and alone, since a starved CPU
/// makes any failure detector see ghosts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopbackUdpMembership
{
    public const string Name = "SWIM over loopback UDP";
}
