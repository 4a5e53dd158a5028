namespace StemeDb.Cluster.Membership;

/// <summary>Counters of one member's SWIM traffic and decisions.</summary>
public sealed record SwimStats(
    long DatagramsReceived,
    long DatagramsSent,
    long BytesSent,
    int LargestDatagram,
    long DroppedMalformed,
    long DroppedUnauthenticated,
    long DeathsDeclared,
    long Refutations,
    int HealthScore,
    long DroppedForeignCluster = 0);
