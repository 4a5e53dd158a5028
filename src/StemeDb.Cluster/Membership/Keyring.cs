using System.Security.Cryptography;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// The cluster keys that authenticate SWIM datagrams with HMAC-SHA256 (truncated to 16 bytes). Packets
/// are signed with the primary (first) key and accepted under any key, so a key can be rotated in
/// three rolling steps: add the new key everywhere, make it primary everywhere, remove the old one.
/// An empty keyring neither signs nor checks (loopback tests only).
/// </summary>
public sealed class Keyring
{
    public const int KeyBytes = 32;
    public const int TagBytes = 16;

    private readonly byte[][] _keys;

    public Keyring(IEnumerable<byte[]> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = [.. keys.Select(k => k.Length == KeyBytes ? (byte[])k.Clone() : throw new ArgumentException($"A cluster key is {KeyBytes} bytes; one has {k.Length}.", nameof(keys)))];
    }

    public static Keyring None { get; } = new([]);

    public bool IsEnabled => _keys.Length > 0;

    /// <summary>From base64 strings, as in <c>Cluster:Swim:Keys</c>.</summary>
    public static Keyring FromBase64(IEnumerable<string> keys) => new(keys.Select(Convert.FromBase64String));

    /// <summary>Writes the tag of <paramref name="data"/> under the primary key.</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> tag)
    {
        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(_keys[0], data, full);
        full[..TagBytes].CopyTo(tag);
    }

    /// <summary>Whether <paramref name="tag"/> authenticates <paramref name="data"/> under any key (constant-time per key).</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> tag)
    {
        if (tag.Length != TagBytes)
        {
            return false;
        }

        Span<byte> full = stackalloc byte[32];
        foreach (byte[] key in _keys)
        {
            HMACSHA256.HashData(key, data, full);
            if (CryptographicOperations.FixedTimeEquals(full[..TagBytes], tag))
            {
                return true;
            }
        }

        return false;
    }
}
