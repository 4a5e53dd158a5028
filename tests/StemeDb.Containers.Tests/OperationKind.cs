namespace StemeDb.Containers.Tests;

/// <summary>What one operation of a workload did.</summary>
public enum OperationKind
{
    /// <summary>A write of a new subject (each subject is written once, so it has exactly one id).</summary>
    Write,

    /// <summary>A read of the current assertions of a subject whose write was acknowledged earlier.</summary>
    Read,

    /// <summary>A retraction of an id whose write was acknowledged earlier.</summary>
    Retract,
}
