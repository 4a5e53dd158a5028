namespace StemeDb.Cluster.Membership;

/// <summary>
/// Counters of one member's SWIM traffic and decisions (exported as metrics by the node app): probes sent
/// and those that ended unacknowledged, suspicions this member raised or learned of, deaths it declared.
/// </summary>
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
    long DroppedForeignCluster = 0,
    long Probes = 0,
    long FailedProbes = 0,
    long Suspicions = 0);
