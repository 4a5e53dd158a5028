using System.Text.Json;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Storage;

namespace StemeDb.Node;

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

/// <summary>A range descriptor on the wire (ids in hex, times as packed HLC).</summary>
public sealed record RangeDescriptorDto(string Id, int StartShard, int EndShard, List<string> Replicas, long Generation, ulong Timestamp, string Proposer)
{
    public static RangeDescriptorDto From(RangeDescriptor d) =>
        new(d.Id.ToString(), d.StartShard, d.EndShard, [.. d.Replicas.Select(r => r.Value)], d.Generation, d.Timestamp.Packed, d.Proposer.Value);

    public RangeDescriptor ToDescriptor() =>
        new(new RangeId(Convert.ToUInt64(Id, 16)), StartShard, EndShard, [.. Replicas.Select(r => new NodeId(r))], Generation, HlcTimestamp.FromPacked(Timestamp), new NodeId(Proposer));
}

public sealed record MetaRangeDto(int ShardCount, List<RangeDescriptorDto> Descriptors);

public sealed record MemberDto(string Id, string AppId, string HttpAddress, string SwimAddress, string State, uint Incarnation)
{
    public static MemberDto From(NodeInfo n) => new(n.Id.Value, n.AppId, n.HttpAddress, n.SwimAddress.ToString(), n.State.ToString().ToLowerInvariant(), n.Incarnation);
}

/// <summary>A page of a range's records (keys and values in base64) and the cursor of the next page.</summary>
public sealed record RecordPage(List<RecordDto> Records, string? Next);

public sealed record RecordDto(string Key, string Value)
{
    public static RecordDto From(StoredRecord r) => new(Convert.ToBase64String(r.Key), Convert.ToBase64String(r.Value));

    public StoredRecord ToRecord() => new(Convert.FromBase64String(Key), Convert.FromBase64String(Value));
}

public sealed record DigestDto(int StartShard, int EndShard, string Digest);

/// <summary>A membership event as published on the topic <c>membership</c>.</summary>
public sealed record MembershipEventDto(string Kind, MemberDto Member, DateTimeOffset At, string ObservedBy)
{
    public static MembershipEventDto From(MembershipEvent e) =>
        new(e.Kind.ToString().ToLowerInvariant(), MemberDto.From(e.Member), e.At, e.ObservedBy.Value);
}
