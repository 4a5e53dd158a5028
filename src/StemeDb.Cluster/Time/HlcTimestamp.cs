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

    /// <summary>
    /// The wall time, clamped to what <see cref="DateTimeOffset"/> holds: a reading from a peer can be any
    /// 64-bit value (a broken or hostile clock), and showing it must not throw where it is refused and logged.
    /// </summary>
    public DateTimeOffset ToDateTimeOffset() =>
        DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(WallMilliseconds, MinUnixMilliseconds, MaxUnixMilliseconds));

    private static readonly long MinUnixMilliseconds = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public override string ToString() => $"{WallMilliseconds}.{Logical}";
}
