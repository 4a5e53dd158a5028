namespace StemeDb.Storage;

/// <summary>The store cannot start or go on: a foreign, torn or mismatched data directory, or a RocksDB error.</summary>
public sealed class StorageException(string message, Exception? inner = null) : Exception(message, inner);
