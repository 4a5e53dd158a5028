using StemeDb.Cluster.Time;

namespace StemeDb.Contracts;

/// <summary>
/// A tombstone that names an assertion of a subject. Stored beside the subject's assertions (it may arrive
/// at a replica before the assertion it retracts); retracting twice is one retraction.
/// </summary>
public sealed record Retraction(string Subject, AssertionId Target, HlcTimestamp RetractedAt)
{
    public AssertionId Id { get; } = AssertionId.Of(CanonicalForm.OfRetraction(Subject, Target));
}
