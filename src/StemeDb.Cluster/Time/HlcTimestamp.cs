namespace StemeDb.Cluster.Time;

/// <summary>
/// A hybrid logical clock reading (Kulkarni et al. 2014): physical milliseconds since the Unix epoch
/// (48 bits) and a logical counter (16 bits), packed into 64 bits so it orders as one integer.
/// </summary>
public readonly record struct HlcTimestamp(long WallMilliseconds, ushort Logical) : IComparable<HlcTimestamp>
{
    public const long MaxWallMilliseconds = (1L << 48) - 1;

    public static HlcTimestamp Zero => default;

    /// <summary>The packed form: wall time in the high 48 bits, the counter in the low 16.</summary>
    public ulong Packed => ((ulong)WallMilliseconds << 16) | Logical;

    public static HlcTimestamp FromPacked(ulong packed) => new((long)(packed >> 16), (ushort)(packed & 0xFFFF));

    public int CompareTo(HlcTimestamp other) => Packed.CompareTo(other.Packed);

    public static bool operator <(HlcTimestamp a, HlcTimestamp b) => a.Packed < b.Packed;

    public static bool operator >(HlcTimestamp a, HlcTimestamp b) => a.Packed > b.Packed;

    public static bool operator <=(HlcTimestamp a, HlcTimestamp b) => a.Packed <= b.Packed;

    public static bool operator >=(HlcTimestamp a, HlcTimestamp b) => a.Packed >= b.Packed;

    public DateTimeOffset ToDateTimeOffset() => DateTimeOffset.FromUnixTimeMilliseconds(WallMilliseconds);

    public override string ToString() => $"{WallMilliseconds}.{Logical}";
}
