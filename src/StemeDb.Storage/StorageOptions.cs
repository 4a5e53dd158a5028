namespace StemeDb.Storage;

/// <summary>Where and how durably the node keeps its assertions (configuration section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The RocksDB directory; created when missing.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>
    /// True: every acknowledged write is fsynced to the write-ahead log before the call returns, so it
    /// survives a power loss or kernel crash. False: the WAL is written to the OS page cache, so an
    /// acknowledged write survives the process being killed (kill -9) but not the machine losing power;
    /// the other replicas of the write quorum cover that case. The WAL is always on.
    /// </summary>
    public bool SyncWrites { get; set; } = true;
}
