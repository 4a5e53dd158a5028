namespace StemeDb.Contracts;

/// <summary>The BLAKE3 hash (32 bytes) of an assertion's or retraction's canonical form; written as 64 hex digits.</summary>
public readonly struct AssertionId : IEquatable<AssertionId>
{
    public const int Bytes = 32;
    private readonly byte[] _bytes;

    public AssertionId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Bytes)
        {
            throw new ArgumentException($"An id is {Bytes} bytes; got {bytes.Length}.", nameof(bytes));
        }

        _bytes = bytes.ToArray();
    }

    public ReadOnlySpan<byte> Span => _bytes;

    public static AssertionId Of(ReadOnlySpan<byte> canonical)
    {
        Span<byte> digest = stackalloc byte[Bytes];
        Blake3.Hasher.Hash(canonical, digest);
        return new AssertionId(digest);
    }

    /// <summary>Parses 64 hex digits (either case); false for anything else.</summary>
    public static bool TryParse(string? text, out AssertionId id)
    {
        id = default;
        if (text is null || text.Length != Bytes * 2)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Bytes];
        if (Convert.FromHexString(text, bytes, out _, out int written) != System.Buffers.OperationStatus.Done || written != Bytes)
        {
            return false;
        }

        id = new AssertionId(bytes);
        return true;
    }

    public bool Equals(AssertionId other) => Span.SequenceEqual(other.Span);

    public override bool Equals(object? obj) => obj is AssertionId other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);

    public static bool operator ==(AssertionId a, AssertionId b) => a.Equals(b);

    public static bool operator !=(AssertionId a, AssertionId b) => !a.Equals(b);

    public override string ToString() => _bytes is null ? string.Empty : Convert.ToHexStringLower(_bytes);
}
