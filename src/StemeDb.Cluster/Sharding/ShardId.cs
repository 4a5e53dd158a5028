using StemeDb.Cluster.Hashing;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// A shard: the jump-hash bucket of a subject's hash among the cluster's fixed shard count S.
/// Shards never move between nodes by renumbering; ranges of shards change replicas instead.
/// </summary>
public readonly record struct ShardId(int Value) : IComparable<ShardId>
{
    /// <summary>shard(subject) = JumpHash(hash(subject), S).</summary>
    public static ShardId ForSubject(string subject, int shardCount) =>
        new(JumpHash.Hash(SubjectHasher.Hash(subject), shardCount));

    /// <inheritdoc cref="ForSubject(string, int)"/>
    public static ShardId ForSubject(ReadOnlySpan<byte> utf8Subject, int shardCount) =>
        new(JumpHash.Hash(SubjectHasher.Hash(utf8Subject), shardCount));

    public int CompareTo(ShardId other) => Value.CompareTo(other.Value);

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
