namespace StemeDb.Client;

/// <summary>
/// One range as the gateway shows it: its span of shards <c>[StartShard, EndShard)</c>, generation, ordered
/// replicas, the replica that leads it (null when none is live) and the bytes its leader holds (null when unknown).
/// </summary>
public sealed record RangeInfo(string Id, int StartShard, int EndShard, long Generation, IReadOnlyList<string> Replicas, string? Leader, long? SizeBytes);
