using Microsoft.Extensions.Time.Testing;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Time;

namespace StemeDb.Cluster.Tests.Time;

public class HybridLogicalClockTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    [Fact]
    public void Follows_physical_time_and_counts_within_one_millisecond()
    {
        var time = new FakeTimeProvider(Start);
        var clock = new HybridLogicalClock(time);
        Assert.Equal(new HlcTimestamp(Start.ToUnixTimeMilliseconds(), 0), clock.Now());
        Assert.Equal(new HlcTimestamp(Start.ToUnixTimeMilliseconds(), 1), clock.Now());
        time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(new HlcTimestamp(Start.ToUnixTimeMilliseconds() + 5, 0), clock.Now());
    }

    [Fact]
    public void Never_goes_backwards_when_the_physical_clock_does()
    {
        var time = new SteppedClock { UtcNow = Start };
        var clock = new HybridLogicalClock(time);
        HlcTimestamp before = clock.Now();
        time.UtcNow = Start.AddSeconds(-10); // NTP stepped the clock back
        HlcTimestamp after = clock.Now();
        Assert.True(after > before);
        Assert.Equal(before.WallMilliseconds, after.WallMilliseconds);
    }

    [Fact]
    public void A_received_timestamp_ahead_of_local_time_pulls_the_clock_forward()
    {
        var time = new FakeTimeProvider(Start);
        var clock = new HybridLogicalClock(time);
        var remote = new HlcTimestamp(Start.ToUnixTimeMilliseconds() + 100, 7);
        HlcTimestamp received = clock.Update(remote);
        Assert.Equal(new HlcTimestamp(remote.WallMilliseconds, 8), received);
        Assert.True(clock.Now() > remote);
    }

    [Fact]
    public void Receive_with_equal_wall_times_takes_the_larger_counter_plus_one()
    {
        var time = new FakeTimeProvider(Start);
        var clock = new HybridLogicalClock(time);
        long wall = Start.ToUnixTimeMilliseconds();
        clock.Now();
        clock.Now(); // (wall, 1)
        Assert.Equal(new HlcTimestamp(wall, 10), clock.Update(new HlcTimestamp(wall, 9)));
        Assert.Equal(new HlcTimestamp(wall, 11), clock.Update(new HlcTimestamp(wall, 2)));
    }

    [Fact]
    public void Rejects_a_remote_clock_too_far_ahead_and_stays_unchanged()
    {
        var time = new FakeTimeProvider(Start);
        var clock = new HybridLogicalClock(time, TimeSpan.FromMilliseconds(500));
        HlcTimestamp last = clock.Now();
        var error = Assert.Throws<ClockSkewException>(() => clock.Update(new HlcTimestamp(Start.ToUnixTimeMilliseconds() + 501, 0)));
        Assert.Contains("500 ms", error.Message);
        Assert.Equal(last, clock.Last);
        Assert.True(clock.TryUpdate(new HlcTimestamp(Start.ToUnixTimeMilliseconds() + 500, 0), out _));
    }

    [Fact]
    public void The_counter_rolls_into_the_next_millisecond_instead_of_overflowing()
    {
        var time = new FakeTimeProvider(Start);
        var clock = new HybridLogicalClock(time);
        long wall = Start.ToUnixTimeMilliseconds();
        clock.Update(new HlcTimestamp(wall, ushort.MaxValue - 1));
        Assert.Equal(new HlcTimestamp(wall + 1, 0), clock.Now());
    }

    [Fact]
    public void Packs_into_64_bits_in_order()
    {
        var a = new HlcTimestamp(123_456_789, 65_535);
        var b = new HlcTimestamp(123_456_790, 0);
        Assert.True(a.Packed < b.Packed);
        Assert.Equal(a, HlcTimestamp.FromPacked(a.Packed));
    }

    [Fact]
    public void Timestamps_from_many_threads_are_unique_and_increasing_per_thread()
    {
        var clock = new HybridLogicalClock(new FakeTimeProvider(Start));
        var all = new System.Collections.Concurrent.ConcurrentBag<ulong>();
        Parallel.For(0, 4, _ =>
        {
            ulong previous = 0;
            for (int i = 0; i < 10_000; i++)
            {
                ulong packed = clock.Now().Packed;
                Assert.True(packed > previous);
                previous = packed;
                all.Add(packed);
            }
        });
        Assert.Equal(40_000, all.Distinct().Count());
    }

    // FakeTimeProvider refuses to go back in time; a real clock can (an NTP step).
    private sealed class SteppedClock : TimeProvider
    {
        public DateTimeOffset UtcNow { get; set; }

        public override DateTimeOffset GetUtcNow() => UtcNow;
    }

    private sealed class MemoryCeiling : IClockCeiling
    {
        public long Stored { get; private set; }

        public int Writes { get; private set; }

        public long Load() => Stored;

        public void Store(long wallMilliseconds)
        {
            Assert.True(wallMilliseconds >= Stored, "the stored bound went down");
            Stored = wallMilliseconds;
            Writes++;
        }
    }

    [Fact]
    public void After_a_restart_with_the_clock_set_back_no_timestamp_is_below_one_issued_before()
    {
        var time = new SteppedClock { UtcNow = Start };
        var ceiling = new MemoryCeiling();
        var before = new HybridLogicalClock(time, TimeSpan.FromMilliseconds(500), ceiling);
        HlcTimestamp last = default;
        for (int i = 0; i < 1000; i++)
        {
            time.UtcNow = Start.AddMilliseconds(i * 3);
            last = before.Now();
        }

        // Also what it observed from a peer (ahead, within the offset) counts as issued.
        last = before.Update(new HlcTimestamp(time.UtcNow.ToUnixTimeMilliseconds() + 400, 0));
        Assert.True(ceiling.Stored >= last.WallMilliseconds);
        Assert.True(ceiling.Writes < 10, $"the bound was stored {ceiling.Writes} times for 3 s of timestamps");

        time.UtcNow = Start.AddSeconds(-30); // the process restarts with its clock set back
        var after = new HybridLogicalClock(time, TimeSpan.FromMilliseconds(500), ceiling);
        Assert.True(after.Now() > last);
        Assert.True(after.BehindCeiling > TimeSpan.FromSeconds(29));

        // Without a stored bound the same restart goes back: what the ceiling is for.
        var forgetful = new HybridLogicalClock(time, TimeSpan.FromMilliseconds(500));
        Assert.True(forgetful.Now() < last);
    }

    [Fact]
    public void The_background_extension_keeps_the_write_path_from_storing()
    {
        var time = new FakeTimeProvider(Start);
        var ceiling = new MemoryCeiling();
        var clock = new HybridLogicalClock(time, TimeSpan.FromMilliseconds(500), ceiling, TimeSpan.FromSeconds(1));
        clock.ExtendCeiling();
        int writes = ceiling.Writes;
        for (int i = 0; i < 100; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            clock.Now();
        }

        Assert.Equal(writes, ceiling.Writes); // 1 s of lead covers the 1 s of timestamps
        time.Advance(TimeSpan.FromMilliseconds(100));
        clock.ExtendCeiling();
        Assert.Equal(writes + 1, ceiling.Writes);
        Assert.True(ceiling.Stored > time.GetUtcNow().ToUnixTimeMilliseconds());
    }
}
