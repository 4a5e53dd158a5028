namespace StemeDb.Contracts;

/// <summary>One key and value of a range, as exported to and imported by another replica.</summary>
public sealed record StoredRecord(byte[] Key, byte[] Value);
