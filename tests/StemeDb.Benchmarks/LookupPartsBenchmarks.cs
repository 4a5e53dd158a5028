using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using StemeDb.Cluster.Hashing;

namespace StemeDb.Benchmarks;

/// <summary>The parts of a lookup, to see where its time goes.</summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class LookupPartsBenchmarks
{
    private byte[][] _utf8 = null!;
    private string[] _subjects = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _subjects = [.. Enumerable.Range(0, 1024).Select(i => $"urn:stemedb:subject:{i * 7919}")];
        _utf8 = [.. _subjects.Select(Encoding.UTF8.GetBytes)];
    }

    [Benchmark(Description = "BLAKE3 (UTF-8)")]
    public ulong Blake3Only()
    {
        _next = (_next + 1) & 1023;
        return SubjectHasher.Hash(_utf8[_next]);
    }

    // The Blake3 package on the same input: what SubjectHasher called before its one-chunk BLAKE3.
    [Benchmark(Description = "BLAKE3 package (UTF-8)")]
    public ulong Blake3Package()
    {
        _next = (_next + 1) & 1023;
        Span<byte> digest = stackalloc byte[32];
        Blake3.Hasher.Hash(_utf8[_next], digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    [Benchmark(Description = "BLAKE3 (string)")]
    public ulong Blake3String()
    {
        _next = (_next + 1) & 1023;
        return SubjectHasher.Hash(_subjects[_next]);
    }

    [Benchmark(Description = "jump hash, S = 4096")]
    public int Jump4096()
    {
        _next = (_next + 1) & 1023;
        return JumpHash.Hash((ulong)_next * 0x9E3779B97F4A7C15UL, 4096);
    }

    [Benchmark(Description = "jump hash, S = 131072")]
    public int Jump131072()
    {
        _next = (_next + 1) & 1023;
        return JumpHash.Hash((ulong)_next * 0x9E3779B97F4A7C15UL, 131_072);
    }
}
