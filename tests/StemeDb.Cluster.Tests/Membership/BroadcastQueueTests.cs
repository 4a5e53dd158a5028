using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Tests.Membership;

/// <summary>
/// The transmit-limited broadcast queue: one broadcast per member (the newest), least-sent then newest
/// first, within the byte budget, each dropped after RetransmitMult · ceil(log10(N + 1)) transmissions.
/// </summary>
public sealed class BroadcastQueueTests
{
    private static readonly NodeId A = new("node-a");
    private static readonly NodeId B = new("node-b");
    private static readonly NodeId C = new("node-c");

    // High enough that nothing reaches the retransmit limit unless a test means it to.
    private const int ManyTimes = 100;

    [Fact]
    public void A_newer_broadcast_about_a_member_replaces_the_older_one()
    {
        var queue = new BroadcastQueue(ManyTimes);
        byte[] older = Message(10);
        byte[] newer = Message(10);

        queue.Enqueue(A, older);
        queue.Enqueue(A, newer);

        Assert.Equal(1, queue.Count);
        byte[] only = Assert.Single(queue.Take(1000, members: 3));
        Assert.Same(newer, only);
    }

    [Fact]
    public void A_replacement_goes_ahead_of_broadcasts_already_sent()
    {
        var queue = new BroadcastQueue(ManyTimes);
        queue.Enqueue(A, Message(10));
        queue.Enqueue(B, Message(10));
        queue.Take(1000, members: 3); // both sent once

        byte[] replacement = Message(10);
        queue.Enqueue(A, replacement);

        Assert.Same(replacement, Assert.Single(queue.Take(10, members: 3)));
    }

    [Fact]
    public void A_replacement_gets_its_full_share_of_transmissions()
    {
        var queue = new BroadcastQueue(2); // 2 · ceil(log10 2) = 2 at N = 1
        queue.Enqueue(A, Message(10));
        queue.Take(1000, members: 1);

        byte[] replacement = Message(10);
        queue.Enqueue(A, replacement);

        Assert.Same(replacement, Assert.Single(queue.Take(1000, members: 1)));
        Assert.Same(replacement, Assert.Single(queue.Take(1000, members: 1)));
        Assert.Empty(queue.Take(1000, members: 1));
    }

    [Fact]
    public void The_least_sent_go_first_and_among_those_the_newest()
    {
        var queue = new BroadcastQueue(ManyTimes);
        byte[] a = Message(10);
        byte[] b = Message(10);
        byte[] c = Message(10);
        queue.Enqueue(A, a);
        queue.Enqueue(B, b);

        Assert.Same(b, Assert.Single(queue.Take(10, members: 3))); // newest of the unsent
        queue.Enqueue(C, c);
        Assert.Equal(new[] { c, a }, queue.Take(20, members: 3)); // b has been sent once, c and a never
        Assert.Equal(new[] { c, b, a }, queue.Take(30, members: 3)); // all sent once: newest first
    }

    [Fact]
    public void Takes_what_fits_in_the_budget_and_no_more()
    {
        var queue = new BroadcastQueue(ManyTimes);
        for (int i = 0; i < 5; i++)
        {
            queue.Enqueue(new NodeId($"node-{i}"), Message(100));
        }

        List<byte[]> taken = queue.Take(350, members: 5);

        Assert.Equal(3, taken.Count);
        Assert.True(taken.Sum(m => m.Length) <= 350);
        Assert.Equal(5, queue.Count); // sent, not yet used up
    }

    [Fact]
    public void A_broadcast_exactly_the_budget_fits_and_one_byte_more_does_not()
    {
        var queue = new BroadcastQueue(ManyTimes);
        queue.Enqueue(A, Message(64));

        Assert.Empty(queue.Take(63, members: 3));
        Assert.Single(queue.Take(64, members: 3));
    }

    [Fact]
    public void A_broadcast_larger_than_the_budget_is_never_handed_out_but_smaller_ones_behind_it_are()
    {
        var queue = new BroadcastQueue(ManyTimes);
        byte[] small = Message(50);
        byte[] large = Message(200);
        queue.Enqueue(A, small);
        queue.Enqueue(B, large); // newer, so first in line

        for (int i = 0; i < 5; i++)
        {
            Assert.Same(small, Assert.Single(queue.Take(100, members: 3)));
        }

        Assert.Equal(2, queue.Count); // the large one waits for a datagram with room for it
        Assert.Contains(large, queue.Take(1000, members: 3));
    }

    [Fact]
    public void Nothing_queued_gives_nothing()
    {
        var queue = new BroadcastQueue(ManyTimes);

        Assert.Empty(queue.Take(1000, members: 3));
        Assert.Equal(0, queue.Count);
    }

    [Theory]
    [InlineData(4, 1, 4)]
    [InlineData(4, 9, 4)]
    [InlineData(4, 10, 8)]
    [InlineData(4, 99, 8)]
    [InlineData(4, 100, 12)]
    [InlineData(4, 999, 12)]
    [InlineData(4, 1000, 16)]
    [InlineData(2, 3, 2)]
    [InlineData(3, 50, 6)]
    public void The_retransmit_limit_is_mult_times_ceil_log10_of_N_plus_1(int mult, int members, int expected) =>
        Assert.Equal(expected, BroadcastQueue.RetransmitLimit(mult, members));

    [Theory]
    [InlineData(3, 5)] // 3 · ceil(log10 6) = 3
    [InlineData(3, 50)] // 3 · ceil(log10 51) = 6
    [InlineData(1, 1)] // 1 · ceil(log10 2) = 1
    public void A_broadcast_is_dropped_after_the_retransmit_limit(int mult, int members)
    {
        var queue = new BroadcastQueue(mult);
        byte[] message = Message(10);
        queue.Enqueue(A, message);
        int limit = BroadcastQueue.RetransmitLimit(mult, members);

        for (int i = 0; i < limit; i++)
        {
            Assert.Equal(1, queue.Count);
            Assert.Same(message, Assert.Single(queue.Take(1000, members)));
        }

        Assert.Equal(0, queue.Count);
        Assert.Empty(queue.Take(1000, members));
    }

    [Fact]
    public void A_member_dropped_after_its_limit_can_be_queued_again()
    {
        var queue = new BroadcastQueue(1);
        queue.Enqueue(A, Message(10));
        queue.Take(1000, members: 1); // limit 1: gone

        byte[] again = Message(10);
        queue.Enqueue(A, again);

        Assert.Equal(1, queue.Count);
        Assert.Same(again, Assert.Single(queue.Take(1000, members: 1)));
    }

    private byte _tag;

    // Each message filled with its own byte: xunit compares arrays by content, so they must differ.
    private byte[] Message(int length) => Enumerable.Repeat(++_tag, length).ToArray();
}
