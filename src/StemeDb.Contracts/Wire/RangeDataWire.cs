namespace StemeDb.Contracts.Wire;

// The JSON forms of range data moving between replicas.

/// <summary>A page of a range's records (keys and values in base64) and the cursor of the next page.</summary>
public sealed record RecordPage(List<RecordDto> Records, string? Next);

public sealed record RecordDto(string Key, string Value)
{
    public static RecordDto From(StoredRecord r) => new(Convert.ToBase64String(r.Key), Convert.ToBase64String(r.Value));

    public StoredRecord ToRecord() => new(Convert.FromBase64String(Key), Convert.FromBase64String(Value));
}

/// <summary>The digest of one non-empty shard's records.</summary>
public sealed record ShardDigestDto(int Shard, string Digest);

/// <summary>Bytes a replica holds for the shards <c>[StartShard, EndShard)</c>.</summary>
public sealed record RangeSizeDto(int StartShard, int EndShard, long Bytes);

/// <summary>The request rate one node coordinated over its last measuring window, in all and per range it leads.</summary>
public sealed record NodeLoadDto(string Node, double Rate, List<RangeLoadDto> Ranges);

public sealed record RangeLoadDto(int StartShard, int EndShard, double Rate);
