using System.Text.Json;
using StemeDb.Cluster.Time;

namespace StemeDb.Storage;

/// <summary>
/// An immutable fact about a subject (DESIGN §2). Its <see cref="Id"/> is the BLAKE3 hash of its canonical
/// form (<see cref="CanonicalForm"/>), which leaves out <see cref="AssertedAt"/>: the same fact written
/// twice, or a write retried, is one assertion, and replicas merge by set union. Where two copies of one
/// assertion carry different times, the earlier is kept, so the merge is the same in any order.
/// </summary>
public sealed record Assertion
{
    /// <summary>Throws <see cref="InvalidAssertionException"/> naming every invalid field.</summary>
    public Assertion(string subject, string predicate, JsonElement @object, string? source, double? confidence, HlcTimestamp assertedAt)
    {
        List<ValidationError> errors = AssertionValidator.Validate(subject, predicate, @object, source, confidence);
        if (errors.Count > 0)
        {
            throw new InvalidAssertionException(errors);
        }

        Subject = subject;
        Predicate = predicate;
        Object = @object.Clone();
        Source = source;
        Confidence = confidence;
        AssertedAt = assertedAt;
        Canonical = CanonicalForm.Of(this);
        Id = AssertionId.Of(Canonical);
    }

    public string Subject { get; }

    public string Predicate { get; }

    /// <summary>Any JSON value.</summary>
    public JsonElement Object { get; }

    public string? Source { get; }

    /// <summary>In [0, 1] when given.</summary>
    public double? Confidence { get; }

    public HlcTimestamp AssertedAt { get; }

    public AssertionId Id { get; }

    /// <summary>The bytes the id is the hash of.</summary>
    internal byte[] Canonical { get; }

    public bool Equals(Assertion? other) => other is not null && Id == other.Id && AssertedAt == other.AssertedAt;

    public override int GetHashCode() => Id.GetHashCode();
}
