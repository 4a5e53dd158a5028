using System.Text.Json;
using StemeDb.Cluster.Time;

namespace StemeDb.Contracts.Wire;

// The JSON forms of assertions between clients, gateways and nodes (camelCase on the wire).

/// <summary>An assertion as clients send it: no id, no time (the coordinating node stamps it).</summary>
public sealed record AssertionInput(string? Subject, string? Predicate, JsonElement? Object, string? Source, double? Confidence);

public sealed record WriteRequest(List<AssertionInput>? Assertions);

public sealed record WriteResponse(List<string> Ids, int Stored);

/// <summary>An assertion on the wire between nodes and to clients: with its id and time.</summary>
public sealed record AssertionDto(string Id, string Subject, string Predicate, JsonElement Object, string? Source, double? Confidence, ulong AssertedAt, ulong? RetractedAt)
{
    public static AssertionDto From(Assertion a, HlcTimestamp? retractedAt = null) =>
        new(a.Id.ToString(), a.Subject, a.Predicate, a.Object, a.Source, a.Confidence, a.AssertedAt.Packed, retractedAt?.Packed);

    public Assertion ToAssertion() => new(Subject, Predicate, Object, Source, Confidence, HlcTimestamp.FromPacked(AssertedAt));
}

public sealed record RetractionDto(string Subject, string Target, ulong RetractedAt)
{
    public static RetractionDto From(Retraction r) => new(r.Subject, r.Target.ToString(), r.RetractedAt.Packed);

    public Retraction ToRetraction() =>
        AssertionId.TryParse(Target, out AssertionId id)
            ? new Retraction(Subject, id, HlcTimestamp.FromPacked(RetractedAt))
            : throw new InvalidAssertionException([new ValidationError("target", "must be 64 hex digits.")]);
}

/// <summary>A gateway's read: the subject in the body, never in a URL path (a sidecar would decode and normalize it).</summary>
public sealed record QueryRequest(string? Subject, string? Predicate, bool History);

/// <summary>A gateway's retraction of one assertion of a subject.</summary>
public sealed record RetractRequest(string? Subject, string? Id);

/// <summary>
/// A coordinator's write arriving at a replica: <see cref="Descriptors"/> are the descriptors it routed the
/// records by (a replica stores only at the generation it holds the range at, and not once it promised the next).
/// </summary>
public sealed record ReplicateRequest(List<AssertionDto>? Assertions, List<RetractionDto>? Retractions, List<RangeDescriptorDto>? Descriptors = null);

/// <summary>A coordinator asking one replica for a subject's records at the generation of <see cref="Descriptor"/>.</summary>
public sealed record ReplicaReadRequest(RangeDescriptorDto Descriptor, string Subject, string? Predicate);

/// <summary>
/// One replica's records of a subject: its assertions, and every tombstone it holds, also for assertions it
/// does not hold (an acknowledged retraction may sit on replicas that missed the assertion).
/// </summary>
public sealed record ReplicaReadAnswer(List<AssertionDto> Assertions, List<RetractionDto> Retractions);
