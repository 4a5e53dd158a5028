namespace StemeDb.Storage;

/// <summary>
/// The node's own small records kept beside the data, in the same database (so one fsync covers them):
/// never part of a range, never exported, each written synced.
/// </summary>
public enum MetaKind : byte
{
    /// <summary>A descriptor of the meta-range as this node last knew it (key: range id, generation).</summary>
    Descriptor = (byte)'D',

    /// <summary>This node's acceptor state of one consensus slot (key: range id, generation).</summary>
    Acceptor = (byte)'P',

    /// <summary>The upper bound of the wall times its clock issued.</summary>
    Clock = (byte)'C',

    /// <summary>A probe written to learn whether the store takes writes again after a failure.</summary>
    Probe = (byte)'H',
}
