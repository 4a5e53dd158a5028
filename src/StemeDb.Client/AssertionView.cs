using System.Text.Json;

namespace StemeDb.Client;

/// <summary>An assertion as a read returns it: its id (the hash of its content), its time, and when it was retracted if it was.</summary>
public sealed record AssertionView(
    string Id,
    string Subject,
    string Predicate,
    JsonElement Object,
    string? Source,
    double? Confidence,
    DateTimeOffset AssertedAt,
    DateTimeOffset? RetractedAt);
