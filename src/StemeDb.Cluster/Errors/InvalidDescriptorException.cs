namespace StemeDb.Cluster.Errors;

/// <summary>A range descriptor that cannot be part of any table (bad span, no replicas, ...).</summary>
public sealed class InvalidDescriptorException(string message) : StemeDbClusterException(message);
