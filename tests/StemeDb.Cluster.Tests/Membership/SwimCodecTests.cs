using System.Collections.Immutable;
using System.Net;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Tests.Membership;

public class SwimCodecTests
{
    private static readonly Keyring KeyA = new([Enumerable.Repeat((byte)0xA1, 32).ToArray()]);
    private static readonly Keyring KeyB = new([Enumerable.Repeat((byte)0xB2, 32).ToArray()]);

    private static readonly ImmutableSortedDictionary<string, string> Meta =
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("zone", "eu-1"), KeyValuePair.Create("r\u00f4le", "n\u0153ud")]);

    private static readonly SwimMessage[] Samples =
    [
        new Ping(1, new NodeId("node-1"), new NodeId("node-2")),
        new Ping(uint.MaxValue, new NodeId("a"), new NodeId("b")),
        new IndirectPing(77, new NodeId("node-3"), new IPEndPoint(IPAddress.Parse("127.0.0.3"), 7946), new NodeId("node-1"), true),
        new IndirectPing(78, new NodeId("node-3"), new IPEndPoint(IPAddress.IPv6Loopback, 65535), new NodeId("node-1"), false),
        new Ack(123_456),
        new Nack(9),
        new AliveMessage(new NodeId("stemedb-node-1"), 1_800_000_000, new IPEndPoint(IPAddress.Loopback, 7946), "stemedb-node-1", "http://127.0.0.1:5001", Meta),
        new SuspectMessage(new NodeId("node-4"), 5, new NodeId("node-1")),
        new DeadMessage(new NodeId("node-4"), 6, new NodeId("node-4")),
        new PushPullMessage(new NodeId("node-1"), true, false, [
            new NodeInfo(new NodeId("node-1"), new IPEndPoint(IPAddress.Loopback, 1), "app-1", "http://h:1", 3, NodeState.Alive, Meta),
            new NodeInfo(new NodeId("node-2"), new IPEndPoint(IPAddress.Loopback, 2), "app-2", "http://h:2", 4, NodeState.Left, ImmutableSortedDictionary<string, string>.Empty)]),
    ];

    public static TheoryData<SwimMessage> Messages => new(Samples);

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_message_round_trips(SwimMessage message)
    {
        foreach (Keyring keyring in new[] { Keyring.None, KeyA })
        {
            byte[] datagram = SwimCodec.EncodeDatagram(keyring, message, new Ack(5));
            var decoded = new List<SwimMessage>();
            Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(datagram, keyring, decoded));
            Assert.Equal(2, decoded.Count);
            // Records compare by value; ImmutableArray members compare element-wise via the reflection below.
            Assert.Equal(SwimCodec.EncodeMessage(message), SwimCodec.EncodeMessage(decoded[0]));
            Assert.Equal(message.GetType(), decoded[0].GetType());
            Assert.Equal(new Ack(5), decoded[1]);
        }
    }

    [Fact]
    public void A_datagram_signed_with_an_unknown_key_is_refused()
    {
        byte[] datagram = SwimCodec.EncodeDatagram(KeyB, new Ping(1, new NodeId("a"), new NodeId("b")));
        Assert.Equal(SwimCodec.DecodeResult.Unauthenticated, SwimCodec.TryDecodeDatagram(datagram, KeyA, []));
    }

    [Fact]
    public void Keys_rotate_send_with_the_primary_accept_any()
    {
        byte[] a = Enumerable.Repeat((byte)1, 32).ToArray();
        byte[] b = Enumerable.Repeat((byte)2, 32).ToArray();
        var oldOnly = new Keyring([a]);
        var both = new Keyring([a, b]);
        var newPrimary = new Keyring([b, a]);
        var newOnly = new Keyring([b]);
        var ping = new Ping(1, new NodeId("a"), new NodeId("b"));

        // Step 1, the new key is added (not primary) on some members: old senders still get through.
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(oldOnly, ping), both, []));
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(both, ping), oldOnly, []));
        // Step 2, the new key becomes primary: every member already accepts it.
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(newPrimary, ping), both, []));
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(both, ping), newPrimary, []));
        // Step 3, the old key is removed: what it signs is refused; a member that skipped step 1 is cut off.
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(newPrimary, ping), newOnly, []));
        Assert.Equal(SwimCodec.DecodeResult.Unauthenticated, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(oldOnly, ping), newOnly, []));
        Assert.Equal(SwimCodec.DecodeResult.Unauthenticated, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram(newOnly, ping), oldOnly, []));
    }

    [Fact]
    public void A_datagram_of_another_cluster_is_refused_and_its_cluster_id_is_signed()
    {
        var ours = new ClusterId(0x1111);
        var theirs = new ClusterId(0x2222);
        var messages = new List<SwimMessage>();
        byte[] datagram = SwimCodec.EncodeDatagram([SwimCodec.EncodeMessage(new Ping(1, new NodeId("a"), new NodeId("b")))], KeyA, theirs);
        Assert.Equal(SwimCodec.DecodeResult.ForeignCluster, SwimCodec.TryDecodeDatagram(datagram, KeyA, messages, ours));
        Assert.Empty(messages);
        Assert.True(SwimCodec.TryReadCluster(datagram, out ClusterId from));
        Assert.Equal(theirs, from);
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(datagram, KeyA, messages, theirs));

        // Rewriting the cluster id to ours breaks the tag: the id cannot be forged without the key.
        BitConverter.TryWriteBytes(datagram.AsSpan(2, 8), ours.Value);
        Assert.Equal(SwimCodec.DecodeResult.Unauthenticated, SwimCodec.TryDecodeDatagram(datagram, KeyA, messages, ours));
    }

    [Fact]
    public void A_tampered_datagram_is_refused()
    {
        byte[] datagram = SwimCodec.EncodeDatagram(KeyA, new SuspectMessage(new NodeId("node-1"), 5, new NodeId("node-2")));
        datagram[^1] ^= 1;
        Assert.Equal(SwimCodec.DecodeResult.Unauthenticated, SwimCodec.TryDecodeDatagram(datagram, KeyA, []));
    }

    [Fact]
    public void Unknown_message_types_from_a_newer_peer_are_skipped()
    {
        byte[] ping = SwimCodec.EncodeMessage(new Ping(1, new NodeId("a"), new NodeId("b")));
        byte[] future = [200, 3, 1, 2, 3];
        var decoded = new List<SwimMessage>();
        Assert.Equal(SwimCodec.DecodeResult.Ok, SwimCodec.TryDecodeDatagram(SwimCodec.EncodeDatagram([future, ping], Keyring.None), Keyring.None, decoded));
        Assert.IsType<Ping>(Assert.Single(decoded));
    }

    [Fact]
    public void A_hundred_thousand_random_truncated_flipped_and_oversized_datagrams_never_throw()
    {
        var random = new Random(100_000);
        SwimMessage[] samples = Samples;
        int refused = 0;
        var decoded = new List<SwimMessage>();
        for (int i = 0; i < 100_000; i++)
        {
            byte[] valid = SwimCodec.EncodeDatagram(Keyring.None, samples[random.Next(samples.Length)], samples[random.Next(samples.Length)]);
            byte[] input = (i % 4) switch
            {
                0 => RandomBytes(random, random.Next(0, 1500)),
                1 => valid[..random.Next(0, valid.Length)],
                2 => Flip(random, valid),
                _ => [.. valid, .. RandomBytes(random, random.Next(1400, 4000))], // past the 1400-byte limit
            };
            // Without a key the decoder parses everything it is given: the hardest case.
            if (SwimCodec.TryDecodeDatagram(input, Keyring.None, decoded) != SwimCodec.DecodeResult.Ok)
            {
                refused++;
            }

            SwimCodec.TryDecodeDatagram(input, KeyA, decoded);
        }

        Assert.True(refused > 70_000, $"only {refused} refused");
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        if (length > 1 && random.Next(2) == 0)
        {
            bytes[0] = SwimCodec.Magic; // get past the header now and then
            bytes[1] = SwimCodec.Version;
        }

        return bytes;
    }

    private static byte[] Flip(Random random, byte[] valid)
    {
        byte[] copy = (byte[])valid.Clone();
        for (int n = random.Next(1, 4); n > 0; n--)
        {
            int at = random.Next(2, copy.Length);
            copy[at] ^= (byte)(1 << random.Next(8));
        }

        return copy;
    }
}
