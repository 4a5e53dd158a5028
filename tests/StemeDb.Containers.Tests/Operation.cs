namespace StemeDb.Containers.Tests;

/// <summary>
/// One client operation of a workload, with the times it began and ended on the workload's clock.
/// </summary>
/// <param name="Gateway">The gateway it went through ("A", "B").</param>
/// <param name="Id">For a write, the id the gateway acknowledged (null unless <see cref="Outcome"/> is Ok); for a retraction, the id retracted.</param>
/// <param name="Seen">For a read that succeeded, what it returned.</param>
/// <param name="Status">The HTTP status, or null when none came (timeout, broken connection).</param>
public sealed record Operation(
    OperationKind Kind,
    string Gateway,
    string Subject,
    string? Id,
    TimeSpan Start,
    TimeSpan End,
    OperationOutcome Outcome,
    IReadOnlyList<SeenAssertion>? Seen = null,
    int? Status = null);
