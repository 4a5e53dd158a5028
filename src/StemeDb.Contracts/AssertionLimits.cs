namespace StemeDb.Contracts;

/// <summary>Bounds on every part of an assertion, so no input can make a node allocate without limit.</summary>
public static class AssertionLimits
{
    public const int MaxSubjectBytes = StemeDb.Cluster.Hashing.SubjectRules.MaxBytes;
    public const int MaxPredicateBytes = 256;
    public const int MaxSourceBytes = 256;

    /// <summary>Of the object's canonical JSON.</summary>
    public const int MaxObjectBytes = 64 * 1024;

    public const int MaxObjectDepth = 32;
}
