namespace StemeDb.Cluster.Errors;

/// <summary>A subject that breaks <see cref="Hashing.SubjectRules"/>: a client mistake (400), not a fault.</summary>
public sealed class InvalidSubjectException(string message) : StemeDbClusterException(message);
