using System.Text.Json;
using StemeDb.Cluster.Time;

namespace StemeDb.Contracts;

/// <summary>
/// An immutable fact about a subject (README, "Storage and the node app"). Its <see cref="Id"/> is the BLAKE3 hash of its canonical
/// form (<see cref="CanonicalForm"/>), which leaves out <see cref="AssertedAt"/>: the same fact written
/// twice, or a write retried, is one assertion, and replicas merge by set union. Where two copies of one
/// assertion carry different times, the earlier is kept, so the merge is the same in any order.
/// </summary>
public sealed record Assertion
{
    /// <summary>Throws <see cref="InvalidAssertionException"/> naming every invalid field.</summary>
    public Assertion(string subject, string predicate, JsonElement @object, string? source, double? confidence, HlcTimestamp assertedAt)
        : this(subject, predicate, @object, source, confidence, assertedAt, Checked(AssertionValidator.Validate(subject, predicate, @object, source, confidence)))
    {
    }

    private Assertion(string subject, string predicate, JsonElement @object, string? source, double? confidence, HlcTimestamp assertedAt, bool validated)
    {
        _ = validated;
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

    /// <summary>
    /// Checks the parts once and builds the assertion, or returns the errors (for request handlers, which
    /// report every invalid field instead of throwing on the first assertion).
    /// </summary>
    public static Assertion? TryCreate(string? subject, string? predicate, JsonElement? @object, string? source, double? confidence, HlcTimestamp assertedAt, out List<ValidationError> errors)
    {
        errors = AssertionValidator.Validate(subject, predicate, @object, source, confidence);
        return errors.Count > 0 ? null : new Assertion(subject!, predicate!, @object!.Value, source, confidence, assertedAt, validated: true);
    }

    /// <summary>Rebuilds a stored assertion; its canonical bytes are compared with what was stored instead of validating again.</summary>
    internal static Assertion FromStored(string subject, string predicate, JsonElement @object, string? source, double? confidence, HlcTimestamp assertedAt) =>
        new(subject, predicate, @object, source, confidence, assertedAt, validated: true);

    private static bool Checked(List<ValidationError> errors) =>
        errors.Count == 0 ? true : throw new InvalidAssertionException(errors);

    public bool Equals(Assertion? other) => other is not null && Id == other.Id && AssertedAt == other.AssertedAt;

    public override int GetHashCode() => Id.GetHashCode();
}
