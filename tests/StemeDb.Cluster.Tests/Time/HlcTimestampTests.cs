using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Time;

public class HlcTimestampTests
{
    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(0xFFFF_0000_0000_0000UL)]
    public void Any_reading_from_a_peer_shows_as_a_time_without_throwing(ulong packed)
    {
        // Found by the node API fuzzer: a far-future X-StemeDb-Hlc was refused, and its log line threw (500).
        DateTimeOffset shown = HlcTimestamp.FromPacked(packed).ToDateTimeOffset();
        Assert.Equal(9999, shown.Year); // beyond what DateTimeOffset holds: the last time it does
    }

    [Fact]
    public void An_ordinary_reading_is_its_wall_time()
    {
        var at = new DateTimeOffset(2026, 12, 2, 17, 0, 0, TimeSpan.Zero);
        Assert.Equal(at, new HlcTimestamp(at.ToUnixTimeMilliseconds(), 3).ToDateTimeOffset());
    }
}
