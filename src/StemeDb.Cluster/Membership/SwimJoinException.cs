using StemeDb.Cluster.Errors;

namespace StemeDb.Cluster.Membership;

/// <summary>No seed answered within the join timeout.</summary>
public sealed class SwimJoinException(string message) : StemeDbClusterException(message);
