using System.Collections.Immutable;
using System.Net;
using BenchmarkDotNet.Attributes;
using StemeDb.Cluster.Membership;

namespace StemeDb.Benchmarks;

/// <summary>
/// The SWIM wire format with an HMAC key: a probe with piggybacked gossip (every probe interval, every
/// member) and a push-pull state exchange of 32 members.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class SwimCodecBenchmarks
{
    private readonly List<SwimMessage> _decoded = new(8);
    private Keyring _keyring = null!;
    private SwimMessage[] _probe = null!;
    private SwimMessage[] _pushPull = null!;
    private byte[] _probeDatagram = null!;
    private byte[] _pushPullDatagram = null!;

    [GlobalSetup]
    public void Setup()
    {
        _keyring = new Keyring([Enumerable.Range(0, 32).Select(b => (byte)b).ToArray()]);
        NodeId a = new("stemedb-node-1");
        NodeId b = new("stemedb-node-2");
        var address = new IPEndPoint(IPAddress.Parse("10.0.0.7"), 7946);
        _probe =
        [
            new Ping(42, b, a),
            new AliveMessage(new NodeId("stemedb-node-9"), 3, address, "stemedb-node-9", "http://10.0.0.7:5000", ImmutableSortedDictionary<string, string>.Empty),
            new SuspectMessage(new NodeId("stemedb-node-4"), 7, a),
            new DeadMessage(new NodeId("stemedb-node-5"), 2, b),
        ];
        ImmutableArray<NodeInfo> members = [.. Enumerable.Range(1, 32).Select(i => new NodeInfo(
            new NodeId($"stemedb-node-{i}"), new IPEndPoint(IPAddress.Parse($"10.0.0.{i}"), 7946), $"stemedb-node-{i}", $"http://10.0.0.{i}:5000", (uint)i, NodeState.Alive, ImmutableSortedDictionary<string, string>.Empty))];
        _pushPull = [new PushPullMessage(a, false, false, members)];
        _probeDatagram = SwimCodec.EncodeDatagram(_keyring, _probe);
        _pushPullDatagram = SwimCodec.EncodeDatagram(_keyring, _pushPull);
    }

    [Benchmark(Description = "encode probe + 3 gossip")]
    public byte[] EncodeProbe() => SwimCodec.EncodeDatagram(_keyring, _probe);

    [Benchmark(Description = "decode probe + 3 gossip")]
    public int DecodeProbe()
    {
        _decoded.Clear();
        SwimCodec.TryDecodeDatagram(_probeDatagram, _keyring, _decoded);
        return _decoded.Count;
    }

    [Benchmark(Description = "encode push-pull, 32 members")]
    public byte[] EncodePushPull() => SwimCodec.EncodeDatagram(_keyring, _pushPull);

    [Benchmark(Description = "decode push-pull, 32 members")]
    public int DecodePushPull()
    {
        _decoded.Clear();
        SwimCodec.TryDecodeDatagram(_pushPullDatagram, _keyring, _decoded);
        return _decoded.Count;
    }
}
