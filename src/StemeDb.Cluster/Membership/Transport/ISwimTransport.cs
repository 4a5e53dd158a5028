using System.Net;

namespace StemeDb.Cluster.Membership.Transport;

/// <summary>
/// The datagram port of SWIM: real UDP sockets in production, an in-memory network in the simulator.
/// Sends are fire-and-forget, as UDP is; received datagrams go to the handler given to <see cref="Start"/>.
/// </summary>
public interface ISwimTransport : IAsyncDisposable
{
    /// <summary>The address peers reach this member at.</summary>
    IPEndPoint LocalAddress { get; }

    /// <summary>Starts delivering received datagrams to <paramref name="onDatagram"/> (one at a time).</summary>
    void Start(Action<ReadOnlyMemory<byte>, IPEndPoint> onDatagram);

    void Send(IPEndPoint to, ReadOnlyMemory<byte> datagram);
}
