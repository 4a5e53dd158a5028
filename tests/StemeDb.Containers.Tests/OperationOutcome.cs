namespace StemeDb.Containers.Tests;

/// <summary>How an operation ended, as the client saw it.</summary>
public enum OperationOutcome
{
    /// <summary>200: a write or retraction is acknowledged, a read returned its list.</summary>
    Ok,

    /// <summary>4xx: refused, so it did not happen.</summary>
    Failed,

    /// <summary>5xx, a timeout or a broken connection: a write or retraction may or may not have happened.</summary>
    Indeterminate,
}
