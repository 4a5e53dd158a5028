using System.Text.Json;
using StemeDb.Cluster.Time;

namespace StemeDb.Storage.Wire;

// The JSON forms of assertions and range data that nodes and gateways exchange (camelCase on the wire).

/// <summary>An assertion as clients send it: no id, no time (the range leader stamps it).</summary>
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

public sealed record ReplicateRequest(List<AssertionDto>? Assertions, List<RetractionDto>? Retractions);

public sealed record RetractionDto(string Subject, string Target, ulong RetractedAt);

/// <summary>A page of a range's records (keys and values in base64) and the cursor of the next page.</summary>
public sealed record RecordPage(List<RecordDto> Records, string? Next);

public sealed record RecordDto(string Key, string Value)
{
    public static RecordDto From(StoredRecord r) => new(Convert.ToBase64String(r.Key), Convert.ToBase64String(r.Value));

    public StoredRecord ToRecord() => new(Convert.FromBase64String(Key), Convert.FromBase64String(Value));
}

public sealed record DigestDto(int StartShard, int EndShard, string Digest);

/// <summary>Bytes a replica holds for the shards <c>[StartShard, EndShard)</c>.</summary>
public sealed record RangeSizeDto(int StartShard, int EndShard, long Bytes);
