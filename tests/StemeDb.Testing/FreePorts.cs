using System.Net;
using System.Net.Sockets;

namespace StemeDb.Testing;

/// <summary>
/// Loopback ports nobody holds at the moment of asking (the system picks them); a port can be taken by
/// someone else before the app binds it, which on a test machine is rare enough.
/// </summary>
public static class FreePorts
{
    /// <summary>A free TCP port on 127.0.0.1 (for Kestrel).</summary>
    public static int Tcp() => Pick(SocketType.Stream, ProtocolType.Tcp);

    /// <summary>A free UDP port on 127.0.0.1 (for SWIM).</summary>
    public static int Udp() => Pick(SocketType.Dgram, ProtocolType.Udp);

    /// <summary>
    /// The first of <paramref name="count"/> consecutive free UDP ports on 127.0.0.1, for an app that takes
    /// a base port and counts up from it (StemeDb.Local's SWIM ports).
    /// </summary>
    public static int UdpRun(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int start = Random.Shared.Next(20_000, 40_000);
            var sockets = new List<Socket>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    sockets.Add(socket);
                    socket.Bind(new IPEndPoint(IPAddress.Loopback, start + i));
                }

                return start;
            }
            catch (SocketException)
            {
                // One of them is taken: try another run.
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }

        throw new InvalidOperationException($"no run of {count} free UDP ports found");
    }

    private static int Pick(SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
