namespace StemeDb.Cluster.Errors;

/// <summary>A remote timestamp is further ahead of the local clock than the configured maximum offset.</summary>
public sealed class ClockSkewException(string message) : StemeDbClusterException(message);
