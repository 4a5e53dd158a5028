using System.Net;
using System.Net.Sockets;

namespace StemeDb.EndToEnd.Tests;

/// <summary>Where the repository and the built apps are, and free loopback ports for them.</summary>
public static class BuiltApps
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Debug or Release: the same configuration this test assembly was built with.</summary>
    public static string Configuration { get; } = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string Node => App("StemeDb.Node");

    public static string Gateway => App("StemeDb.Gateway");

    public static string Local => App("StemeDb.Local");

    public static string App(string name)
    {
        string dll = Path.Combine(RepositoryRoot, "src", name, "bin", Configuration, "net10.0", name + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{name} is not built ({dll}); run dotnet build first.", dll);
    }

    public static int FreeTcpPort() => FreePort(SocketType.Stream, ProtocolType.Tcp);

    public static int FreeUdpPort() => FreePort(SocketType.Dgram, ProtocolType.Udp);

    /// <summary>The first of <paramref name="count"/> consecutive free UDP ports (StemeDb.Local takes a base port).</summary>
    public static int FreeUdpBase(int count)
    {
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
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }

        throw new InvalidOperationException("no run of free UDP ports found");
    }

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StemeDb.Dapr.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("StemeDb.Dapr.sln not found above " + AppContext.BaseDirectory);
    }
}
