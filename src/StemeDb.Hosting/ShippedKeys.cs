using System.Security.Cryptography;
using System.Text;

namespace StemeDb.Hosting;

/// <summary>
/// SWIM keys that anyone can read in this repository: the embedded cluster's development key and the
/// example in <c>dapr.yaml</c> (once also in <c>deploy/</c>). Fine on a laptop's loopback, where only local
/// processes can send a datagram; a node that listens off loopback refuses them (<see cref="ExposureRules"/>),
/// since whoever holds the key can join the membership and announce addresses that data is then sent to.
/// </summary>
public static class ShippedKeys
{
    /// <summary>The key <c>StemeDb.Local</c> uses when <c>Cluster__Swim__Keys__0</c> is not set.</summary>
    public static string LocalDevelopmentKey { get; } =
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("stemedb-local-development-key")));

    /// <summary>The example key of <c>dapr.yaml</c>: the base64 of <c>stemedb-local-development-key-32</c>.</summary>
    public const string ExampleKey = "c3RlbWVkYi1sb2NhbC1kZXZlbG9wbWVudC1rZXktMzI=";

    /// <summary>Which shipped key this is (compared as bytes, so another base64 spelling is caught too), or null.</summary>
    public static string? Describe(string base64Key)
    {
        byte[]? key = Decode(base64Key);
        if (key is null)
        {
            return null;
        }

        if (key.AsSpan().SequenceEqual(Decode(LocalDevelopmentKey)))
        {
            return "the embedded cluster's development key";
        }

        if (key.AsSpan().SequenceEqual(Decode(ExampleKey)))
        {
            return "the example key of dapr.yaml";
        }

        // 32 copies of one byte (all zeros, say) is a placeholder, not a key.
        return key.Length > 0 && key.AsSpan().IndexOfAnyExcept(key[0]) < 0 ? "a placeholder (one byte repeated)" : null;
    }

    private static byte[]? Decode(string base64)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
