using Microsoft.Extensions.Time.Testing;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>
/// The Lifeguard suspicion timer on virtual time: timeout = max − log(n + 1) / log(k + 1) · (max − min)
/// after n of k independent confirmations, counted from when the suspicion started.
/// </summary>
public sealed class SuspicionTests
{
    private static readonly NodeId Accuser = new("node-1");
    private static readonly NodeId B = new("node-2");
    private static readonly NodeId C = new("node-3");
    private static readonly NodeId D = new("node-4");
    private static readonly NodeId E = new("node-5");
    private static readonly TimeSpan Min = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(60);

    private readonly FakeTimeProvider _time = new();
    private int _fired;

    private Suspicion Start(int k) => new(_time, Accuser, k, Min, Max, () => _fired++);

    [Fact]
    public void Starts_at_the_maximum_and_fires_there_without_confirmations()
    {
        using Suspicion s = Start(k: 3);
        Assert.Equal(Max, s.Timeout);

        _time.Advance(Max - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, _fired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Each_independent_confirmation_shrinks_the_timeout_logarithmically_down_to_the_minimum()
    {
        using Suspicion s = Start(k: 3);

        Assert.True(s.Confirm(B));
        // log 2 / log 4 = 1/2: the first of three confirmations already takes half the way (linear would take a third).
        AssertClose(TimeSpan.FromSeconds(35), s.Timeout);
        Assert.True(s.Confirm(C));
        AssertClose(Max - ((Max - Min) * (Math.Log(3) / Math.Log(4))), s.Timeout); // ≈ 20.4 s
        Assert.True(s.Confirm(D));
        Assert.Equal(Min, s.Timeout);
        Assert.Equal(3, s.Confirmations);

        // k reached: further confirmations neither count nor go below the minimum.
        Assert.False(s.Confirm(E));
        Assert.Equal(3, s.Confirmations);
        Assert.Equal(Min, s.Timeout);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(16)]
    public void The_timeout_never_grows_and_stays_within_min_and_max(int k)
    {
        using Suspicion s = Start(k);
        TimeSpan previous = s.Timeout;
        for (int i = 0; i < k; i++)
        {
            Assert.True(s.Confirm(new NodeId($"confirmer-{i}")));
            Assert.True(s.Timeout < previous, $"confirmation {i + 1} of {k} did not shorten {previous}");
            Assert.InRange(s.Timeout, Min, Max);
            previous = s.Timeout;
        }

        Assert.Equal(Min, s.Timeout);
    }

    [Fact]
    public void The_shortened_deadline_counts_from_the_start_of_the_suspicion()
    {
        using Suspicion s = Start(k: 3);
        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.True(s.Confirm(B)); // 35 s from the start: 15 s from now, not 35
        _time.Advance(TimeSpan.FromSeconds(15) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, _fired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void A_confirmation_that_moves_the_deadline_into_the_past_fires_at_once_but_not_inside_Confirm()
    {
        using Suspicion s = Start(k: 3);
        _time.Advance(TimeSpan.FromSeconds(50));

        Assert.True(s.Confirm(B)); // 35 s: already passed
        // The caller holds its lock while confirming; a callback from inside Confirm would re-enter it.
        Assert.Equal(0, _fired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void The_same_member_confirming_twice_counts_once_and_the_accuser_does_not_count()
    {
        using Suspicion s = Start(k: 3);

        Assert.False(s.Confirm(Accuser));
        Assert.Equal(0, s.Confirmations);
        Assert.Equal(Max, s.Timeout);

        Assert.True(s.Confirm(B));
        TimeSpan once = s.Timeout;
        Assert.False(s.Confirm(B));
        Assert.Equal(1, s.Confirmations);
        Assert.Equal(once, s.Timeout);
    }

    [Fact]
    public void The_timer_fires_once()
    {
        using Suspicion s = Start(k: 3);
        Assert.True(s.Confirm(B));

        _time.Advance(Max * 10);
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Confirmations_after_the_deadline_do_nothing()
    {
        using Suspicion s = Start(k: 3);
        _time.Advance(Max);
        Assert.Equal(1, _fired);

        Assert.False(s.Confirm(B));
        Assert.Equal(0, s.Confirmations);
        Assert.Equal(Max, s.Timeout);
        _time.Advance(Max);
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void With_no_confirmations_expected_it_is_plain_SWIM_a_fixed_minimum()
    {
        using Suspicion s = Start(k: 0);
        Assert.Equal(Min, s.Timeout);

        Assert.False(s.Confirm(B));
        Assert.Equal(Min, s.Timeout);
        _time.Advance(Min - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, _fired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void A_disposed_suspicion_never_fires()
    {
        Suspicion s = Start(k: 3);
        s.Dispose();

        _time.Advance(Max * 2);
        Assert.Equal(0, _fired);
    }

    // TimeSpan × double rounds to ticks; a millisecond is far below anything the protocol distinguishes.
    private static void AssertClose(TimeSpan expected, TimeSpan actual) =>
        Assert.InRange(actual, expected - TimeSpan.FromMilliseconds(1), expected + TimeSpan.FromMilliseconds(1));
}
