using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>
/// Lifeguard's local health score: 0 is healthy, it stays within [0, max − 1], and whatever it scales is
/// multiplied by score + 1, so a member at its worst probes <c>max</c> times less often.
/// </summary>
public sealed class AwarenessTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);

    [Fact]
    public void A_new_member_is_healthy_and_keeps_its_interval()
    {
        var awareness = new Awareness(maxMultiplier: 8, enabled: true);

        Assert.Equal(0, awareness.Score);
        Assert.Equal(Interval, awareness.Scale(Interval));
    }

    [Fact]
    public void Failures_raise_the_score_and_stretch_the_interval_by_score_plus_one()
    {
        var awareness = new Awareness(maxMultiplier: 8, enabled: true);

        awareness.ApplyDelta(1); // a failed probe nobody was asked to nack
        Assert.Equal(1, awareness.Score);
        Assert.Equal(Interval * 2, awareness.Scale(Interval));

        awareness.ApplyDelta(2); // two relays that sent no nack
        Assert.Equal(3, awareness.Score);
        Assert.Equal(Interval * 4, awareness.Scale(Interval));
    }

    [Fact]
    public void Successes_lower_the_score_again()
    {
        var awareness = new Awareness(maxMultiplier: 8, enabled: true);
        awareness.ApplyDelta(3);

        awareness.ApplyDelta(-1);
        Assert.Equal(2, awareness.Score);
        Assert.Equal(Interval * 3, awareness.Scale(Interval));
        awareness.ApplyDelta(-1);
        awareness.ApplyDelta(-1);
        Assert.Equal(0, awareness.Score);
        Assert.Equal(Interval, awareness.Scale(Interval));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(64)]
    public void The_score_stays_within_zero_and_max_minus_one_so_the_interval_stretches_at_most_max_times(int max)
    {
        var awareness = new Awareness(max, enabled: true);

        awareness.ApplyDelta(1000);
        Assert.Equal(max - 1, awareness.Score);
        Assert.Equal(Interval * max, awareness.Scale(Interval));
        awareness.ApplyDelta(1);
        Assert.Equal(max - 1, awareness.Score);

        awareness.ApplyDelta(-1000);
        Assert.Equal(0, awareness.Score);
        Assert.Equal(Interval, awareness.Scale(Interval));
    }

    [Fact]
    public void Successes_while_healthy_bank_nothing_for_later()
    {
        var awareness = new Awareness(maxMultiplier: 8, enabled: true);

        awareness.ApplyDelta(-5);
        awareness.ApplyDelta(1);
        Assert.Equal(1, awareness.Score);
    }

    [Fact]
    public void Without_Lifeguard_the_score_stays_zero()
    {
        var awareness = new Awareness(maxMultiplier: 8, enabled: false);

        awareness.ApplyDelta(1);
        awareness.ApplyDelta(5);
        Assert.Equal(0, awareness.Score);
        Assert.Equal(Interval, awareness.Scale(Interval));
    }
}
