namespace StemeDb.Storage;

/// <summary>One group commit: the RocksDB batch entries written together and the time of the write (with its sync).</summary>
public readonly record struct CommitStats(int Entries, TimeSpan Duration);
