using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StemeDb.Cluster.Membership.Transport;

/// <summary>
/// SWIM over a real UDP socket. One receive loop hands datagrams to the protocol; a datagram the
/// protocol cannot use is its business (it counts and drops it); a socket error never ends the loop.
/// </summary>
public sealed class UdpSwimTransport : ISwimTransport
{
    private const int MaxDatagram = 65_507;
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <param name="bind">Where to listen; port 0 takes a free port.</param>
    /// <param name="advertise">Address to tell peers, when not the bound one (e.g. 0.0.0.0 bound).</param>
    public UdpSwimTransport(IPEndPoint bind, IPAddress? advertise = null, ILogger<UdpSwimTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bind);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Large enough that a burst of push-pull datagrams is not dropped by the kernel.
        _socket.ReceiveBufferSize = 4 << 20;
        _socket.SendBufferSize = 1 << 20;
        if (OperatingSystem.IsWindows())
        {
            // Windows reports an ICMP port-unreachable as an error on the next receive; SWIM expects silence.
            const int SioUdpConnreset = -1744830452;
            _socket.IOControl(SioUdpConnreset, [0], null);
        }

        _socket.Bind(bind);
        var bound = (IPEndPoint)_socket.LocalEndPoint!;
        IPAddress address = advertise ?? (bound.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : bound.Address);
        LocalAddress = new IPEndPoint(address, bound.Port);
    }

    public IPEndPoint LocalAddress { get; }

    public void Start(Action<ReadOnlyMemory<byte>, IPEndPoint> onDatagram)
    {
        ArgumentNullException.ThrowIfNull(onDatagram);
        if (_loop is not null)
        {
            throw new InvalidOperationException("The transport is already started.");
        }

        _loop = Task.Run(() => ReceiveLoop(onDatagram, _stop.Token));
    }

    public void Send(IPEndPoint to, ReadOnlyMemory<byte> datagram)
    {
        try
        {
            _socket.SendTo(datagram.Span, SocketFlags.None, to);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // UDP is best effort: SWIM treats a lost send like a lost packet.
            _logger.LogDebug(e, "SWIM send to {Address} failed", to);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoop(Action<ReadOnlyMemory<byte>, IPEndPoint> onDatagram, CancellationToken cancel)
    {
        byte[] buffer = new byte[MaxDatagram];
        EndPoint any = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancel.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogDebug(e, "SWIM receive failed; continuing");
                continue;
            }

            try
            {
                onDatagram(buffer.AsMemory(0, result.ReceivedBytes), (IPEndPoint)result.RemoteEndPoint);
            }
            catch (Exception e)
            {
                // The protocol must not throw on input; if it does, log it and keep receiving.
                _logger.LogError(e, "SWIM failed to handle a datagram from {Address}", result.RemoteEndPoint);
            }
        }
    }
}
