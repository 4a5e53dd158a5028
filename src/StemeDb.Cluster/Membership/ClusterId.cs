using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// The identity of one cluster, fixed at its creation: the first 8 bytes of BLAKE3 over its name, its shard
/// count, its genesis table's range count and replication factor, and its founding members in order (what
/// its genesis table is made of), in the manner of etcd's
/// cluster id from the initial configuration. SWIM datagrams, internal calls and meta-range messages carry
/// it, and a node refuses those of another cluster, so two clusters can never merge their tables.
/// </summary>
public readonly record struct ClusterId(ulong Value)
{
    /// <summary>No identity (tests of SWIM alone); only equal to itself.</summary>
    public static ClusterId None => default;

    public static ClusterId FromGenesis(string name, int shardCount, IEnumerable<NodeId> founders, int genesisRanges = 1, int replicationFactor = 3)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(founders);
        string text = string.Create(CultureInfo.InvariantCulture, $"stemedb-cluster\n{name}\n{shardCount}\n{genesisRanges}\n{replicationFactor}\n{string.Join(',', founders.Select(f => f.Value))}");
        Span<byte> digest = stackalloc byte[32];
        Blake3.Hasher.Hash(Encoding.UTF8.GetBytes(text), digest);
        return new ClusterId(BinaryPrimitives.ReadUInt64LittleEndian(digest));
    }

    /// <summary>The identity of the cluster these settings and founders make.</summary>
    public static ClusterId Of(Configuration.ClusterConfig config, IReadOnlyList<NodeId> founders)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(founders);
        return FromGenesis(
            config.Name,
            config.Sharding.ShardCount,
            founders,
            Sharding.GenesisTable.RangeCount(config.Sharding.ShardCount, founders.Count, config.Sharding.InitialRanges),
            config.Sharding.ReplicationFactor);
    }

    public static bool TryParse(string? text, out ClusterId id)
    {
        id = default;
        if (text is not { Length: 16 } || !ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
        {
            return false;
        }

        id = new ClusterId(value);
        return true;
    }

    public override string ToString() => Value.ToString("x16", CultureInfo.InvariantCulture);
}
