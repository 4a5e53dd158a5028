using System.Net;
using System.Net.Sockets;

namespace StemeDb.Testing;

/// <summary>
/// Loopback ports nobody holds at the moment of asking, taken from below the system's ephemeral range
/// (<c>/proc/sys/net/ipv4/ip_local_port_range</c>): a port the system hands out for a bind to port 0 is also
/// what it hands out to outgoing connections, so between asking and the app's bind one of the test's own
/// HTTP clients could take it (CI saw "address already in use"). Below that range the system never hands a
/// port out by itself; within this process each port is handed out once, from a cursor that starts at
/// random so that processes running at the same time rarely meet.
/// </summary>
public static class FreePorts
{
    private const int Lowest = 10_000;

    // The one piece of static mutable state here: ports handed out by this process are never handed out again.
    private static readonly int Limit = EphemeralStart();
    private static int _cursor = Random.Shared.Next(0, Limit - Lowest);

    /// <summary>A free TCP port on 127.0.0.1 (for Kestrel).</summary>
    public static int Tcp() => Pick(SocketType.Stream, ProtocolType.Tcp, 1);

    /// <summary>A free UDP port on 127.0.0.1 (for SWIM).</summary>
    public static int Udp() => Pick(SocketType.Dgram, ProtocolType.Udp, 1);

    /// <summary>
    /// The first of <paramref name="count"/> consecutive free UDP ports on 127.0.0.1, for an app that takes
    /// a base port and counts up from it (StemeDb.Local's SWIM ports).
    /// </summary>
    public static int UdpRun(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return Pick(SocketType.Dgram, ProtocolType.Udp, count);
    }

    private static int Pick(SocketType type, ProtocolType protocol, int count)
    {
        int span = Limit - Lowest;
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int start = Lowest + (int)((uint)(Interlocked.Add(ref _cursor, count) - count) % (uint)span);
            if (start + count > Limit)
            {
                continue; // a run does not wrap around the end of the range
            }

            var sockets = new List<Socket>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
                    sockets.Add(socket);
                    socket.Bind(new IPEndPoint(IPAddress.Loopback, start + i));
                }

                return start;
            }
            catch (SocketException)
            {
                // Held by somebody: try the next.
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }

        throw new InvalidOperationException($"no run of {count} free {protocol} ports found in [{Lowest}, {Limit})");
    }

    /// <summary>The first port of the ephemeral range (32768 when it cannot be read).</summary>
    private static int EphemeralStart()
    {
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.TryParse(range[0], out int start) && start > Lowest + 1000 ? start : 32_768;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }
}
